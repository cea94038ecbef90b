"""Settings per environment; each can be overridden by `FLASK_<KEY>` variables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
# The language every text is written in first, and the one read where no reader
# chose another: outside a page (the CLI, the logs), and in the mail of members
# from before languages (app/web/language.py, app/services/mailer.py).
SOURCE_LANGUAGE = "en"


class Config:
    """Defaults shared by every environment."""

    APP_ENV = "development"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'vestibule.db'}"
    # A database error's message leaves out the values it was given: they may be
    # a secret (a two-factor secret, a token's digest) and the message is logged.
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"hide_parameters": True}
    # Seconds a pooled connection may sit unused before it is tested (app/database.py).
    DATABASE_PING_AFTER_IDLE = 10.0
    # The site's public address, for links in mail; production refuses to start
    # without it. Unset elsewhere, links follow the address the server is bound to:
    # http://HOST:PORT (gunicorn.conf.py's variables), then, in each gunicorn worker,
    # the socket it really listens on (app.follow_listening_address).
    BASE_URL: str | None = None
    TRUSTED_PROXIES = 0
    MAX_CONTENT_LENGTH = 256 * 1024
    LOAD_MIGRATIONS = True  # `flask db ...`; off in the gunicorn workers
    # gunicorn's worker processes (gunicorn.conf.py reads the same variable, same
    # default); production refuses memory:// rate limits with more than one.
    WEB_CONCURRENCY = 1
    # Production refuses SQLite unless told that one host serves on purpose.
    ALLOW_SQLITE_IN_PRODUCTION = False

    # Mail: with MAIL_SERVER unset every mail is written to the log (MAIL_TO_LOG), or,
    # in production, where a log must not hold a link's token, not sent at all.
    MAIL_SERVER: str | None = None
    MAIL_TO_LOG = True
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "Vestibule <no-reply@localhost>"
    MAIL_TIMEOUT = 10
    # "after_response": the web process sends right after answering;
    # "worker": only `flask mail worker` sends.
    MAIL_DELIVERY = "after_response"
    MAIL_MAX_ATTEMPTS = 8

    # Password hashing: argon2id at OWASP's minimum (m=19 MiB, t=2, p=1).
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19 * 1024
    ARGON2_PARALLELISM = 1

    # Signed links: the seconds each is good for. Every page, mail and label that
    # names a length of time says the setting's (filter `duration`, app/dates.py).
    VERIFY_TOKEN_MAX_AGE = int(timedelta(hours=48).total_seconds())
    RESET_TOKEN_MAX_AGE = int(timedelta(hours=1).total_seconds())
    UNLOCK_TOKEN_MAX_AGE = int(timedelta(hours=24).total_seconds())
    NOT_ME_TOKEN_MAX_AGE = int(timedelta(days=7).total_seconds())
    EMAIL_CHANGE_TOKEN_MAX_AGE = int(timedelta(hours=48).total_seconds())
    EMAIL_UNDO_TOKEN_MAX_AGE = int(timedelta(days=7).total_seconds())
    # A sign-up waits this long for its link (a new link can be asked for meanwhile).
    SIGN_UP_CLAIM_LIFETIME = timedelta(days=7)
    # Seconds before "check your inbox" sends its link again: mail takes a moment,
    # and a second press of the button should not make a second link at once.
    SEND_AGAIN_AFTER = 60

    # Lockout: after this many failed sign-ins in a row for one address, each
    # further one locks it, for a wait that doubles from the first to the longest.
    LOCKOUT_THRESHOLD = 10
    LOCKOUT_FIRST_WAIT = timedelta(minutes=1)
    LOCKOUT_LONGEST_WAIT = timedelta(minutes=15)
    # A count with no new failure for this long starts again from zero.
    LOCKOUT_FORGET_AFTER = timedelta(days=1)

    # Server-side sessions behind a random cookie token.
    SIGN_IN_COOKIE_NAME = "vestibule_signin"
    SIGN_IN_COOKIE_SECURE = False
    SESSION_IDLE_TIMEOUT = timedelta(hours=12)
    SESSION_LIFETIME = timedelta(days=1)
    REMEMBER_LIFETIME = timedelta(days=30)
    SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
    # Two-factor sign-in: how long the second step waits after the password, how
    # long an enrolment page's secret stays good, how long a browser stays trusted.
    TWO_FACTOR_STEP_MAX_AGE = int(timedelta(minutes=10).total_seconds())
    TWO_FACTOR_ENROLMENT_MAX_AGE = int(timedelta(hours=1).total_seconds())
    TRUSTED_BROWSER_COOKIE_NAME = "vestibule_trusted"
    TRUSTED_BROWSER_MAX_AGE = int(timedelta(days=30).total_seconds())
    SESSION_COOKIE_NAME = "vestibule_state"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False

    WTF_CSRF_TIME_LIMIT = 3600
    # Every validator says the site's own message, translated in the site's catalogs:
    # WTForms' own catalogs go unused, and Flask-WTF would load one on every request.
    WTF_I18N_ENABLED = False
    WTF_CSRF_CHECK_DEFAULT = False  # checked in security.check_csrf, see there

    # Abuse protection; every limit is a setting of its own.
    # Said outright: Flask-Limiter's default is whatever the previous app in the
    # process had, so one app built with limits off would turn them off for the next.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    # No X-RateLimit-* headers: they cost a storage round trip on every limited
    # post and tell a guesser how many tries are left. A refusal still says when
    # to retry (errors.render_error sets Retry-After).
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # Seconds to wait for Redis to accept a connection or answer a command before the
    # limits fall back to each worker's memory, as when Redis is down. With the Redis
    # client's own 5 s, a Redis that hangs, or a network that drops its packets, held
    # a sign-in for 10 s. The in-memory store ignores them.
    RATELIMIT_STORAGE_OPTIONS: ClassVar[dict[str, float]] = {
        "socket_connect_timeout": 1.0,
        "socket_timeout": 1.0,
    }
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "vestibule"
    LOGIN_LIMIT_PER_EMAIL = "5 per minute"
    LOGIN_LIMIT_PER_IP = "20 per minute"
    # Accepted sign-ups per IP; every post, typos too, also counts against the
    # second limit, which bounds the strength checks one client can ask for.
    REGISTER_LIMIT = "5 per hour"
    REGISTER_ATTEMPT_LIMIT = "20 per minute"
    RESET_LIMIT = "10 per hour"
    MAIL_LINK_LIMIT = "3 per hour"
    MAIL_LINK_LIMIT_PER_IP = "10 per hour"
    # Wrong passwords or codes per member an hour on the settings forms that check
    # them; a right answer neither counts nor is refused before the limit is reached.
    ACCOUNT_LIMIT = "10 per hour"
    # Seconds a session that confirmed its password (or code) on a settings form is
    # not asked again (app/services/reauthentication.py); 0 asks every time.
    REAUTHENTICATION_WINDOW = 300
    TWO_FACTOR_LIMIT = "5 per minute"  # codes tried per pending sign-in

    # Passkeys (app/services/passkey_challenges.py). The relying party's id and
    # origin: None takes BASE_URL's host and origin. A browser refuses an IP address
    # as the id.
    PASSKEY_RP_ID: str | None = None
    PASSKEY_ORIGIN: str | None = None
    # Seconds a ceremony's challenge can be answered; then it is void.
    PASSKEY_CHALLENGE_MAX_AGE = 300
    # Passkey posts per client IP (per member for adding one): each start stores a
    # challenge, and every sign-in page asks for one for the browser's autofill.
    PASSKEY_LIMIT = "60 per minute"

    # The languages pages and mails are written in, by code; the first is the one
    # served when nothing else decides (app/web/language.py). Each but English needs
    # its catalog in app/translations (docs/translating.md).
    LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "ar")

    DIRECTORY_PAGE_SIZE = 20
    # The directory counts matches up to this many ("more than 1,000 members"); page
    # numbers reach as far (app/services/directory.py).
    DIRECTORY_COUNT_CAP = 1000
    SECURITY_LOG_PAGE_SIZE = 20
    ADMIN_PAGE_SIZE = 50
    HSTS = False

    # GET /metrics (app/metrics_endpoint.py), off unless enabled. Where a token or
    # addresses are set, only a request with `Authorization: Bearer <token>` or from
    # an allowed address (comma-separated addresses and networks) reads it;
    # production needs one of the two.
    METRICS_ENABLED = False
    METRICS_TOKEN: str | None = None
    METRICS_ALLOWED_IPS = ""


class DevelopmentConfig(Config):
    """Local development: embedded SQLite, mail to the log."""

    # a known key, for development only; SECRET_KEY replaces it
    SECRET_KEY = "dev-only-not-secret"  # noqa: S105  # nosec B105


class TestingConfig(Config):
    """The test suite: fast hashing, a fixed key, in-memory limits."""

    APP_ENV = "testing"
    TESTING = True
    # a fixed key, for the test suite only
    SECRET_KEY = "testing-secret-key"  # noqa: S105  # nosec B105
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    RATELIMIT_STORAGE_URI = "memory://"
    BASE_URL = "http://localhost"
    # Most tests post a settings form more than once and mean each password check;
    # tests/test_reauthentication.py turns the window on.
    REAUTHENTICATION_WINDOW = 0


class ProductionConfig(Config):
    """Behind a TLS-terminating proxy, on PostgreSQL and Redis."""

    APP_ENV = "production"
    SIGN_IN_COOKIE_SECURE = True
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    HSTS = True
    MAIL_DELIVERY = "worker"
    MAIL_TO_LOG = False


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


class ConfigError(RuntimeError):
    """The settings do not allow the app to start."""


def refuse_unsafe_settings(config: Mapping[str, Any]) -> None:
    """Raise ConfigError, one line naming the fix, for settings unfit to serve.

    Outside production only a missing SECRET_KEY counts (development has its own).
    """
    if not config.get("SECRET_KEY"):
        raise ConfigError(
            "SECRET_KEY must be set in production: set SECRET_KEY to a long random "
            "value, such as python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    refuse_passkey_settings(config)
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


def refuse_passkey_settings(config: Mapping[str, Any]) -> None:
    """Raise ConfigError when the passkey relying party's id and origin do not fit.

    The id must be the origin's host or a domain it belongs to (WebAuthn's rule:
    "example.org" serves "https://accounts.example.org", not the other way round).
    Only the settings given are checked: unset ones follow BASE_URL.
    """
    origin = config.get("PASSKEY_ORIGIN") or config.get("BASE_URL")
    rp_id = config.get("PASSKEY_RP_ID")
    if not origin:
        return
    parts = urlsplit(str(origin))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"PASSKEY_ORIGIN must be an http(s) address such as "
            f"https://accounts.example.org, not {origin!r}"
        )
    host = parts.hostname.lower()
    if rp_id and not (host == rp_id.lower() or host.endswith("." + rp_id.lower())):
        raise ConfigError(
            f"PASSKEY_RP_ID {rp_id!r} does not fit the origin {origin!r}: set it to "
            f"{host!r} or a domain that {host!r} belongs to, or leave it unset"
        )
