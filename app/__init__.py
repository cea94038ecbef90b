"""Vestibule: accounts for people, a site operators can run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial
from typing import Any

from dotenv import find_dotenv, load_dotenv
from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import (
    CONFIGS,
    INSTANCE_DIR,
    local_base_url,
    settings_from_environment,
)
from app.log import configure_logging


class ConfigError(RuntimeError):
    """The settings do not allow the app to start."""


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app for APP_ENV (or config["APP_ENV"]), with `config` applied last."""
    overrides = dict(config or {})
    env_name = overrides.get("APP_ENV") or _env_name()
    if env_name not in CONFIGS:
        raise ConfigError(
            f"APP_ENV must be one of {', '.join(CONFIGS)}, not {env_name!r}"
        )

    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(CONFIGS[env_name])
    if env_name != "testing":
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
    register_blueprints(app)
    register_template_filters(app)
    register_error_handlers(app)
    register_request_hooks(app)
    register_commands(app)
    register_metrics(app)
    return app


def refuse_unsafe_settings(config: Mapping[str, Any]) -> None:
    """Raise ConfigError, one line naming the fix, for settings unfit to serve.

    Outside production only a missing SECRET_KEY counts (development has its own).
    """
    if not config.get("SECRET_KEY"):
        raise ConfigError(
            "SECRET_KEY must be set in production: set SECRET_KEY to a long random "
            "value, such as python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if config["APP_ENV"] != "production":
        return
    if not config.get("BASE_URL"):
        raise ConfigError(
            "BASE_URL must be set in production, for the links in mail: set BASE_URL "
            "to the site's public address, such as https://accounts.example.org"
        )
    if (
        str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")
        and not config["ALLOW_SQLITE_IN_PRODUCTION"]
    ):
        raise ConfigError(
            "DATABASE_URL is SQLite in production: set DATABASE_URL to PostgreSQL "
            "(postgresql+psycopg://user:password@host/name), or set "
            "ALLOW_SQLITE_IN_PRODUCTION=true to serve from one host on purpose"
        )
    workers = config["WEB_CONCURRENCY"]
    if (
        config["RATELIMIT_ENABLED"]
        and str(config["RATELIMIT_STORAGE_URI"]).startswith("memory://")
        and workers > 1
    ):
        raise ConfigError(
            f"RATELIMIT_STORAGE_URI is memory:// with WEB_CONCURRENCY={workers} "
            "workers, each counting limits alone: set RATELIMIT_STORAGE_URI to "
            "redis://host:6379/0, or WEB_CONCURRENCY=1"
        )


def say_what_cannot_work(app: Flask) -> None:
    """Log, in one line each, what a started app cannot do with its settings.

    Production without a mail server starts (the outbox keeps every mail until one
    is set) but no mail leaves: /readyz answers 503 naming `mail` meanwhile.
    """
    from app.services.mailer import mail_problem

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
    from app.database import dispose_pools_after_fork
    from app.ratelimits import renew_storage_after_fork

    dispose_pools_after_fork(app)
    renew_storage_after_fork(app)


def _env_name() -> str:
    """Return APP_ENV, read after a .env in the working directory unless testing."""
    if os.environ.get("APP_ENV", "development") != "testing":
        # Found as Flask's CLI finds it, so `flask db upgrade` and gunicorn read the
        # same file; variables already set win over it.
        path = find_dotenv(usecwd=True)
        if path:
            load_dotenv(path, encoding="utf-8")
    return os.environ.get("APP_ENV", "development")


def register_extensions(app: Flask) -> None:
    """Bind the extension objects to this app."""
    from app.database import configure_engine
    from app.extensions import csrf, db, login_manager
    from app.ratelimits import init_limiter

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


def register_blueprints(app: Flask) -> None:
    """Mount one blueprint per feature."""
    from app.account.routes import bp as account_bp
    from app.admin.routes import bp as admin_bp
    from app.auth.routes import bp as auth_bp
    from app.main.routes import bp as main_bp
    from app.users.routes import bp as users_bp

    for blueprint in (main_bp, auth_bp, users_bp, account_bp, admin_bp):
        app.register_blueprint(blueprint)


def register_template_filters(app: Flask) -> None:
    """Write dates the site's one way ("5 December 2026")."""
    from app.dates import register_filters

    register_filters(app)


def register_error_handlers(app: Flask) -> None:
    """Render every error in the site's layout."""
    from app.errors import register_error_handlers as register

    register(app)


def register_request_hooks(app: Flask) -> None:
    """Install CSRF, headers, the sign-in cookie and mail after the response."""
    from app.security import register_security
    from app.sign_in_cookie import register_sign_in_cookie
    from app.static_files import register_static_files

    register_static_files(app)  # first: its after_request runs after the others
    register_security(app)
    register_sign_in_cookie(app)
    if app.config["MAIL_DELIVERY"] == "after_response":
        app.after_request(partial(_deliver_after_response, app))


def _deliver_after_response(app: Flask, response: Response) -> Response:
    from app.services.mailer import mail_committed

    if mail_committed():
        response.call_on_close(partial(_deliver, app))
    return response


def _deliver(app: Flask) -> None:
    from app.services.mailer import deliver_due

    with app.app_context():
        try:
            deliver_due()
        except (
            Exception
        ):  # the outbox keeps the mail; the worker or next request retries
            app.logger.exception("delivering mail after the response failed")


def register_metrics(app: Flask) -> None:
    """Serve /metrics and count requests, if METRICS_ENABLED (off by default)."""
    from app.metrics import init_metrics

    init_metrics(app)


def register_commands(app: Flask) -> None:
    """Add the operator commands."""
    from app.cli import register_commands as register

    register(app)
