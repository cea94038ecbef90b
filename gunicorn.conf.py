"""Gunicorn settings, read from the environment."""

import gc
import os
from typing import Any

# The web workers never run migrations: leave Alembic out of their memory.
os.environ.setdefault("FLASK_LOAD_MIGRATIONS", "false")

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# The app reads it too (app/config.py WEB_CONCURRENCY, same default) for its checks.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# The master loads the app once and the workers share its memory (bench/README.md).
preload_app = True
accesslog = "-"
errorlog = "-"
# Mailed links carry tokens in their paths: the access log shows them redacted.
logger_class = "app.access_log.RedactingLogger"
# Let the proxy in front handle slow clients; this only bounds a stuck request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server: Any) -> None:
    # In the master, after the app was loaded and before the workers are forked.
    from app import before_fork

    before_fork()


def when_ready(server: Any) -> None:
    # Hide what the master loaded from the collector: a worker's collections would
    # otherwise write to every object in it, copying each page the workers share.
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    from app import after_fork

    after_fork(worker.app.wsgi())
