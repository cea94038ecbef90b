"""Settings per environment; each can be overridden by `FLASK_<KEY>` variables."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


class Config:
    """Defaults shared by every environment."""

    APP_ENV = "development"
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'vestibule.db'}"
    )
    # Seconds a pooled connection may sit unused before it is tested (app/database.py).
    DATABASE_PING_AFTER_IDLE = 10.0
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000")
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    MAX_CONTENT_LENGTH = 256 * 1024
    TESTING_ROUTES = False
    LOAD_MIGRATIONS = True  # `flask db ...`; off in the gunicorn workers

    # Mail: with MAIL_SERVER unset every mail is written to the log.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "true").lower() in {
        "1",
        "true",
        "yes",
    }
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Vestibule <no-reply@localhost>"
    )
    MAIL_TIMEOUT = 10
    # "after_response": the web process sends right after answering;
    # "worker": only `flask mail worker` sends.
    MAIL_DELIVERY = "after_response"
    MAIL_MAX_ATTEMPTS = 8

    # Password hashing: argon2id at OWASP's minimum (m=19 MiB, t=2, p=1).
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19 * 1024
    ARGON2_PARALLELISM = 1

    # Signed links.
    VERIFY_TOKEN_MAX_AGE = int(timedelta(hours=48).total_seconds())
    RESET_TOKEN_MAX_AGE = int(timedelta(hours=1).total_seconds())

    # Server-side sessions behind a random cookie token.
    AUTH_COOKIE_NAME = "vestibule_session"
    AUTH_COOKIE_SECURE = False
    SESSION_IDLE_TIMEOUT = timedelta(hours=12)
    SESSION_LIFETIME = timedelta(days=1)
    REMEMBER_LIFETIME = timedelta(days=30)
    SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
    SESSION_COOKIE_NAME = "vestibule_state"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False

    WTF_CSRF_TIME_LIMIT = 3600
    WTF_CSRF_CHECK_DEFAULT = False  # checked in security.check_csrf, see there

    # Abuse protection; every limit is a setting of its own.
    # Said outright: Flask-Limiter's default is whatever the previous app in the
    # process had, so one app built with limits off would turn them off for the next.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # No X-RateLimit-* headers: they cost a storage round trip on every limited
    # post and tell a guesser how many tries are left. A refusal still says when
    # to retry (errors.render_error sets Retry-After).
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "vestibule"
    LOGIN_LIMIT_PER_EMAIL = "5 per minute"
    LOGIN_LIMIT_PER_IP = "20 per minute"
    LOGIN_LIMIT_PER_ACCOUNT = "10 per hour;30 per day"
    REGISTER_LIMIT = "5 per hour"
    MAIL_LINK_LIMIT = "3 per hour"
    TWO_FACTOR_LIMIT = "5 per minute"
    ACCOUNT_LIMIT = "10 per hour"

    DIRECTORY_PAGE_SIZE = 20
    # Seconds a directory count is reused: totals lag changes by at most this much.
    DIRECTORY_COUNT_TTL = 30
    HSTS = False


class DevelopmentConfig(Config):
    """Local development: embedded SQLite, mail to the log."""

    SECRET_KEY = Config.SECRET_KEY or "dev-only-not-secret"


class TestingConfig(Config):
    """The test suite: fast hashing, fixed key, a route that raises."""

    APP_ENV = "testing"
    TESTING = True
    # a fixed key, for the test suite only
    SECRET_KEY = "testing-secret-key"  # noqa: S105  # nosec B105
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    RATELIMIT_STORAGE_URI = "memory://"
    TESTING_ROUTES = True
    DIRECTORY_COUNT_TTL = 0
    BASE_URL = "http://localhost"


class ProductionConfig(Config):
    """Behind a TLS-terminating proxy, on PostgreSQL and Redis."""

    APP_ENV = "production"
    AUTH_COOKIE_SECURE = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    HSTS = True
    MAIL_DELIVERY = "worker"


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
