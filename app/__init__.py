"""Vestibule: accounts for people, a site operators can run.

`create_app` builds the app; `before_fork` and `after_fork` are gunicorn's hooks
(gunicorn.conf.py). Everything else lives in the modules the README's map names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial
from typing import Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from app import account, admin, auth, main, users
from app.cli import register_commands
from app.config import CONFIGS, INSTANCE_DIR, ConfigError, refuse_unsafe_settings
from app.database import configure_engine, dispose_pools_after_fork
from app.dates import register_filters
from app.environment import env_name, local_base_url, settings_from_environment
from app.extensions import csrf, db, login_manager
from app.log import configure_logging
from app.metrics_endpoint import init_metrics
from app.services.mailer import deliver_due, mail_committed, mail_problem
from app.web.errors import register_error_handlers
from app.web.language import init_language
from app.web.ratelimits import init_limiter, renew_storage_after_fork
from app.web.security import register_security
from app.web.sign_in_cookie import register_sign_in_cookie
from app.web.static_files import register_static_files

__all__ = ["ConfigError", "after_fork", "before_fork", "create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app for APP_ENV (or config["APP_ENV"]), with `config` applied last."""
    overrides = dict(config or {})
    environment = overrides.get("APP_ENV") or env_name()
    if environment not in CONFIGS:
        raise ConfigError(
            f"APP_ENV must be one of {', '.join(CONFIGS)}, not {environment!r}"
        )

    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(CONFIGS[environment])
    if environment != "testing":
        # the shell that runs the suite must not point it at real servers
        app.config.update(settings_from_environment())
    app.config.from_prefixed_env("FLASK")
    app.config.update(overrides)
    refuse_unsafe_settings(app.config)
    if not app.config["BASE_URL"]:
        # where gunicorn.conf.py binds; a worker then reads its socket (post_fork)
        app.config["BASE_URL"] = local_base_url(
            os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
        )
        app.config["BASE_URL_FOLLOWS_SERVER"] = True

    configure_logging(app)
    say_what_cannot_work(app)
    register_extensions(app)
    for blueprint in (main.bp, auth.bp, users.bp, account.bp, admin.bp):
        app.register_blueprint(blueprint)
    register_filters(app)  # dates the site's one way ("5 December 2026")
    register_error_handlers(app)
    register_request_hooks(app)
    register_commands(app)
    init_metrics(app)  # /metrics, if METRICS_ENABLED (off by default)
    return app


def say_what_cannot_work(app: Flask) -> None:
    """Log, in one line each, what a started app cannot do with its settings.

    Production without a mail server starts (the outbox keeps every mail until one
    is set) but no mail leaves: /readyz answers 503 naming `mail` meanwhile.
    """
    with app.app_context():
        problem = mail_problem()
    if problem is not None:
        app.logger.warning("mail is %s: no mail leaves until it is set", problem)


def follow_listening_address(app: Flask, address: object) -> None:
    """Build mailed links on `address` when BASE_URL was left unset (not production).

    `address` is a listening socket's `getsockname()`: a (host, port, ...) tuple, or a
    Unix socket's path, which changes nothing. gunicorn.conf.py's `post_fork` calls
    this in each worker, so `--bind` or a port the system chose are followed too.
    """
    if app.config.get("BASE_URL_FOLLOWS_SERVER") and isinstance(address, tuple):
        app.config["BASE_URL"] = local_base_url(address[0], address[1])


def before_fork() -> None:
    """Import, in a process about to fork its workers, what they import on first use.

    The app imports ua-parser (every sign-in names its browser) and zxcvbn (every new
    password is judged) only when it needs them, so that processes that never do
    (commands, the mail worker) go without. Every web worker comes to need them:
    loaded before the fork, the workers share one copy (zxcvbn's word lists alone
    are 11 MiB) instead of each loading its own (bench/README.md).
    """
    import zxcvbn  # noqa: F401
    from ua_parser import parser  # noqa: F401 - builds its rules, as its docs offer


def after_fork(app: Flask) -> None:
    """Make a process forked from one that loaded `app` (gunicorn's workers) its own.

    Nothing that talks to a server or runs a thread may be shared across a fork:
    the child gets new database pools and a new rate-limit storage.
    """
    dispose_pools_after_fork(app, db)
    renew_storage_after_fork(app)


def register_extensions(app: Flask) -> None:
    """Bind the extension objects to this app."""
    if app.config["TRUSTED_PROXIES"] > 0:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    db.init_app(app)
    with app.app_context():
        configure_engine(app, db.engine)
    if app.config["LOAD_MIGRATIONS"]:
        # Alembic costs every process ~10 MiB; gunicorn.conf.py spares the web workers.
        from flask_migrate import Migrate

        # batch mode lets later migrations alter tables on SQLite too
        Migrate(
            app,
            db,
            directory=str(INSTANCE_DIR.parent / "migrations"),
            render_as_batch=True,
        )
    login_manager.init_app(app)
    csrf.init_app(app)
    init_limiter(app)
    init_language(app)


def register_request_hooks(app: Flask) -> None:
    """Install static files, CSRF, headers, the sign-in cookie and mail after the
    response."""
    register_static_files(app)  # first: its after_request runs after the others
    register_security(app)
    register_sign_in_cookie(app)
    if app.config["MAIL_DELIVERY"] == "after_response":
        app.after_request(partial(_deliver_after_response, app))


def _deliver_after_response(app: Flask, response: Response) -> Response:
    if mail_committed():
        response.call_on_close(partial(_deliver, app))
    return response


def _deliver(app: Flask) -> None:
    with app.app_context():
        try:
            deliver_due()
        except (
            Exception
        ):  # the outbox keeps the mail; the worker or next request retries
            app.logger.exception("delivering mail after the response failed")
