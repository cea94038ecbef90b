"""Gunicorn settings, read from the environment."""

import gc
import os
import shutil
import tempfile
from typing import Any

# The web workers never run migrations: leave Alembic out of their memory.
os.environ.setdefault("FLASK_LOAD_MIGRATIONS", "false")
# /metrics (app/metrics.py, when METRICS_ENABLED): each worker counts into files in
# this directory and /metrics adds them all up. prometheus_client reads the variable
# when it is imported, so it is set here, before the app is loaded; unset, a new
# temporary directory, removed when the server stops.
_made_metrics_directory = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_metrics_directory = tempfile.mkdtemp(prefix="vestibule-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_metrics_directory

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# One worker process serving on threads: the rate limits counted in its memory are
# the site's whole count (bench/README.md, "One worker with threads"). Production
# with Redis may run more processes, of any worker class.
# The app reads WEB_CONCURRENCY too (app/config.py, same default) for its checks.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# Two threads: with four, CPU-bound pages served at a third of two's rate (the
# threads queue for Python's GIL). gunicorn serves a sync worker with more than one
# thread as gthread.
threads = int(
    os.environ.get("GUNICORN_THREADS", "2" if worker_class == "gthread" else "1")
)
# The master loads the app once and the workers share its memory (bench/README.md).
preload_app = True
# No control socket (gunicornc): signals do what it would, and its one default path
# would be shared by every gunicorn of the machine's user.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# Mailed links carry tokens in their paths: the access log shows them redacted.
logger_class = "app.web.access_log.RedactingLogger"
# Let the proxy in front handle slow clients; this only bounds a stuck request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server: Any) -> None:
    # In the master, after the app was loaded and before the workers are forked.
    from app import before_fork
    from app.metrics import empty_directory

    before_fork()
    # counts left by an earlier run, whose process ids the new workers may reuse
    empty_directory()


def when_ready(server: Any) -> None:
    # Hide what the master loaded from the collector: a worker's collections would
    # otherwise write to every object in it, copying each page the workers share.
    gc.freeze()
    if not os.environ.get("BASE_URL"):
        # gunicorn names the bound address (127.0.0.1); the site is opened, and its
        # mailed links lead, at localhost, the one name passkeys work on without a
        # domain (app/environment.py)
        from app.environment import local_base_url

        host, _, port = str(server.cfg.bind[0]).rpartition(":")
        server.log.info("Open the site at %s", local_base_url(host.strip("[]"), port))


def post_fork(server: Any, worker: Any) -> None:
    from app import after_fork, follow_listening_address

    app = worker.app.wsgi()
    after_fork(app)
    # Mailed links on the address served, where BASE_URL is unset (not production).
    if worker.sockets:
        follow_listening_address(app, worker.sockets[0].getsockname())


def child_exit(server: Any, worker: Any) -> None:
    from app.metrics import process_exited

    process_exited(worker.pid)


def on_exit(server: Any) -> None:
    # Not after `kill -USR2`: the new master it started counts in the same directory.
    if _made_metrics_directory and not server.reexec_pid:
        shutil.rmtree(_made_metrics_directory, ignore_errors=True)
