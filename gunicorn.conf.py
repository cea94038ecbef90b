"""Gunicorn settings, read from the environment."""

import os

# The web workers never run migrations: leave Alembic out of their memory.
os.environ.setdefault("FLASK_LOAD_MIGRATIONS", "false")

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
accesslog = "-"
errorlog = "-"
# Let the proxy in front handle slow clients; this only bounds a stuck request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
