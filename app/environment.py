"""What the process's environment says: APP_ENV, a .env file, the variables that
override settings, and the address a local server is bound to."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from typing import Any

from dotenv import find_dotenv, load_dotenv


def env_name() -> str:
    """Return APP_ENV, read after a .env in the working directory unless testing."""
    if os.environ.get("APP_ENV", "development") != "testing":
        # Found as Flask's CLI finds it, so `flask db upgrade` and gunicorn read the
        # same file; variables already set win over it.
        path = find_dotenv(usecwd=True)
        if path:
            load_dotenv(path, encoding="utf-8")
    return os.environ.get("APP_ENV", "development")


def _flag(text: str) -> bool:
    return text.lower() in {"1", "true", "yes"}


# Each variable, the setting it gives and how its text is read. Where the default
# is None an empty variable counts as unset: `SECRET_KEY=` keeps the development
# key, and production still refuses to start without one.
ENVIRONMENT_VARIABLES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "SECRET_KEY": ("SECRET_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "BASE_URL": ("BASE_URL", str),
    "PASSKEY_RP_ID": ("PASSKEY_RP_ID", str),
    "PASSKEY_ORIGIN": ("PASSKEY_ORIGIN", str),
    "TRUSTED_PROXIES": ("TRUSTED_PROXIES", int),
    "MAIL_SERVER": ("MAIL_SERVER", str),
    "MAIL_PORT": ("MAIL_PORT", int),
    "MAIL_USE_TLS": ("MAIL_USE_TLS", _flag),
    "MAIL_USERNAME": ("MAIL_USERNAME", str),
    "MAIL_PASSWORD": ("MAIL_PASSWORD", str),
    "MAIL_DEFAULT_SENDER": ("MAIL_DEFAULT_SENDER", str),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "METRICS_ENABLED": ("METRICS_ENABLED", _flag),
    "METRICS_TOKEN": ("METRICS_TOKEN", str),
    "METRICS_ALLOWED_IPS": ("METRICS_ALLOWED_IPS", str),
    "WEB_CONCURRENCY": ("WEB_CONCURRENCY", int),
    "ALLOW_SQLITE_IN_PRODUCTION": ("ALLOW_SQLITE_IN_PRODUCTION", _flag),
}
_EMPTY_IS_UNSET = frozenset(
    {
        "SECRET_KEY",
        "BASE_URL",
        "PASSKEY_RP_ID",
        "PASSKEY_ORIGIN",
        "MAIL_SERVER",
        "MAIL_USERNAME",
        "MAIL_PASSWORD",
        "METRICS_TOKEN",
    }
)


def local_base_url(host: str, port: int | str) -> str:
    """Return the http:// address for links to a server bound to `host` and `port`.

    A server on IPv4's loopback address or on every interface (0.0.0.0) is linked
    as `localhost`: browsers allow passkeys on a name, never on an IP address
    (app/services/passkey_challenges.py). Another address is linked as it is, an
    IPv6 one bracketed (a server on every IPv6 interface at its loopback address):
    ("::1", 8123) -> "http://[::1]:8123".
    """
    try:
        address = ipaddress.ip_address(host or "127.0.0.1")
    except ValueError:  # a name, such as localhost
        return f"http://{host}:{port}"
    if address.version == 4 and (address.is_loopback or address.is_unspecified):
        return f"http://localhost:{port}"
    if address.is_unspecified:
        address = ipaddress.ip_address("::1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}"


def settings_from_environment() -> dict[str, Any]:
    """Return the settings the environment variables give, as they are now."""
    settings: dict[str, Any] = {}
    for variable, (key, parse) in ENVIRONMENT_VARIABLES.items():
        text = os.environ.get(variable)
        if text is None or (not text and variable in _EMPTY_IS_UNSET):
            continue
        settings[key] = parse(text)
    return settings
