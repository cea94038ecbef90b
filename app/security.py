"""Request-level protections: CSRF, safe redirects, headers, client identity."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from app.extensions import csrf
from app.services.security_log import ClientInfo

CSRF_EXPIRED = "The CSRF token has expired."
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def safe_next(target: str | None, fallback: str) -> str:
    """Return `target` if it is a path on this site, else `fallback`."""
    if not target:
        return fallback
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def client_info() -> ClientInfo:
    """Describe where the current request comes from, for the security log."""
    return ClientInfo(
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", "")[:255],
    )


def check_csrf() -> None:
    """Refuse an unsafe request without a genuine CSRF token (400).

    A genuine but expired token is let through, marked: the form then fails to
    validate, and the page comes back with what was typed and a request to submit
    again (`forms.Form.validate`).
    """
    if request.method not in UNSAFE_METHODS:
        return
    try:
        csrf.protect()
    except CSRFError as error:
        if error.description != CSRF_EXPIRED or not _issued_to_this_browser():
            raise
        g.csrf_expired = True


def _issued_to_this_browser() -> bool:
    # Flask-WTF reports a token's age before checking whose it is: an attacker's
    # own expired token must not pass for this browser's (it would sign it out).
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    try:
        validate_csrf(request.form.get(field), time_limit=float("inf"))
    except ValidationError:
        return False
    return True


def start_request() -> None:
    """Give the request an id for the log and the response."""
    given = request.headers.get("X-Request-ID", "")
    # A proxy's id is kept so log lines match across hops; anything odd is replaced.
    g.request_id = given if REQUEST_ID.fullmatch(given) else secrets.token_hex(16)


_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_HSTS = "max-age=63072000; includeSubDomains"


def set_security_headers(response: Response) -> Response:
    """Add the security headers every response carries."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.update(_SECURITY_HEADERS)
    if current_app.config["HSTS"]:
        headers["Strict-Transport-Security"] = _HSTS
    if current_app.config["AUTH_COOKIE_NAME"] in request.cookies:
        headers["Cache-Control"] = "no-store"
        headers.add("Vary", "Cookie")
    if "request_id" in g:
        headers["X-Request-ID"] = g.request_id
    return response


def register_security(app: Flask) -> None:
    """Install the request hooks above."""
    app.before_request(start_request)
    app.before_request(check_csrf)
    app.after_request(set_security_headers)
