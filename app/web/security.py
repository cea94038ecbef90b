"""Request-level protections: CSRF, safe redirects, headers, client identity."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from enum import Enum
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    g,
    request,
    request_finished,
    session,
)
from flask_wtf.csrf import CSRFError
from itsdangerous import BadData, URLSafeTimedSerializer

from app.extensions import csrf
from app.log import REQUEST_ID
from app.services.security_log import ClientInfo
from app.web.request_state import request_state

# Flask-WTF signs the session's CSRF secret with this salt to make the form's token
# (flask_wtf.csrf.generate_csrf); tests/test_csrf.py fails if a release changes it.
CSRF_SALT = "wtf-csrf-token"
# Session key of the CSRF secrets this browser had before its latest sign-in or out.
EARLIER_CSRF_SECRETS = "csrf_earlier"
# Enough for a few sign-ins and outs while a form stays open in another tab.
KEEP_EARLIER_CSRF_SECRETS = 4
# Longer than any address of this site: a `next` this long is not one of its pages.
MAX_NEXT_LENGTH = 2000
GIVEN_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
request_log = logging.getLogger("vestibule.request")

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
    if not target or len(target) > MAX_NEXT_LENGTH:
        return fallback
    if "\\" in target or any(ord(ch) < 32 or 127 <= ord(ch) <= 159 for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def client_info() -> ClientInfo:
    """Describe where the current request comes from, for the security log.

    ClientInfo tidies what the client sent for storing: an address that is not an
    IP (a proxy that passes X-Forwarded-For on unchecked can hand over any text)
    is stored as unknown, "", and the User-Agent loses control characters and is
    cut to its column's length.
    """
    return ClientInfo(
        ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", "")
    )


class TokenOwner(Enum):
    """Which of this browser's CSRF secrets a genuine token was made from."""

    CURRENT = "current"
    EARLIER = "earlier"  # before a sign-in or sign-out, maybe in another tab


def check_csrf() -> None:
    """Refuse an unsafe request without a genuine CSRF token (400).

    Two kinds of genuine tokens of this browser are let through, marked, when the
    post comes from this site: an expired one (`csrf_expired`) and one made
    before a sign-in or sign-out (`csrf_stale`). The form then fails to validate
    and the page comes back with what was typed and the reason
    (`forms.Form.validate`); no view acts on such a post.
    """
    if request.method not in UNSAFE_METHODS:
        return
    if request.routing_exception is not None:
        # No view will run: the 404 or 405 is the answer, whatever the token.
        return
    try:
        csrf.protect()
    except CSRFError:
        read = _token_owner() if _same_origin() else None
        if read is not None and read[0] is TokenOwner.CURRENT and _expired(read[1]):
            request_state().csrf_expired = True
        elif read is not None and read[0] is TokenOwner.EARLIER:
            request_state().csrf_stale = True
        else:
            raise


def stale_token() -> bool:
    """Whether this post carries a token from before a sign-in or sign-out."""
    return request_state().csrf_stale


def _same_origin() -> bool:
    # A browser names the page that posted; without the header (older browsers,
    # some privacy settings) the token alone decides, as it does for fresh tokens.
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.host.lower()


def csrf_token_contents(token: str, key: str | bytes) -> tuple[str, float] | None:
    """Read a Flask-WTF CSRF token: the secret it was made from, and when (epoch s).

    Checks the signature with `key` (the site's secret key) at any age; returns
    None for a token this site did not sign. The one place that knows how
    Flask-WTF makes its tokens.
    """
    try:
        secret, signed_at = URLSafeTimedSerializer(key, salt=CSRF_SALT).loads(
            token, return_timestamp=True
        )
    except BadData:
        return None
    if not isinstance(secret, str):
        return None
    return secret, signed_at.timestamp()


def _expired(signed_at: float) -> bool:
    # As Flask-WTF: older than WTF_CSRF_TIME_LIMIT seconds (None: never).
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT")
    return limit is not None and int(time.time()) - int(signed_at) > limit


def _token_owner() -> tuple[TokenOwner, float] | None:
    # Flask-WTF reports a token's age before checking whose it is: an attacker's
    # own token, expired or not, must not pass for this browser's (it would sign
    # it out). Signed by this site, of any age, and made from a secret of this
    # browser's signed state cookie: nobody else can hold such a token.
    config = current_app.config
    token = request.form.get(config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    key = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    if not token or not key:
        return None
    contents = csrf_token_contents(token, key)
    if contents is None:
        return None
    secret, signed_at = contents
    current = _csrf_secret()
    if current is not None and _same_secret(current, secret):
        return TokenOwner.CURRENT, signed_at
    if any(_same_secret(earlier, secret) for earlier in _earlier_csrf_secrets()):
        return TokenOwner.EARLIER, signed_at
    return None


def _same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _csrf_secret() -> str | None:
    secret = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    return secret if isinstance(secret, str) else None


def keeps_csrf_secret() -> bool:
    """Tell whether this browser's state cookie holds a CSRF secret already.

    A page may then add a form (the footer's language menu) without giving a
    visitor who had no state cookie one.
    """
    return _csrf_secret() is not None


def _earlier_csrf_secrets() -> list[str]:
    earlier = session.get(EARLIER_CSRF_SECRETS)
    if not isinstance(earlier, list):
        return []
    return [secret for secret in earlier if isinstance(secret, str)]


def renew_session_state() -> None:
    """Clear the state cookie at a sign-in or sign-out, remembering its CSRF secret.

    The forms open in the browser's other tabs carry tokens of the secret this
    clears; remembering it (the last few) tells such a stale form from a forged one.
    """
    secret = _csrf_secret()
    earlier = _earlier_csrf_secrets()
    session.clear()
    if secret is not None:
        earlier = [secret, *earlier][:KEEP_EARLIER_CSRF_SECRETS]
    if earlier:
        session[EARLIER_CSRF_SECRETS] = earlier


def start_request() -> None:
    """Give the request an id for the log and the response; note when it began."""
    request_state().started = time.perf_counter()
    # Behind trusted proxies theirs is kept, so log lines match across hops; from a
    # client, or anything odd, it is replaced.
    given = request.headers.get("X-Request-ID", "")
    trusted = current_app.config["TRUSTED_PROXIES"] > 0 and GIVEN_REQUEST_ID.fullmatch(
        given
    )
    setattr(g, REQUEST_ID, given if trusted else secrets.token_hex(16))


def log_request(sender: Flask, response: Response, **extra: object) -> None:
    """Log the request's line: method, endpoint, status, duration in ms, user id.

    Every line carries the request id already (app.log.configure_logging).
    The endpoint names the page, never its path, which may hold a mailed link's
    token. The user is the one whose session the request looked up, if it did.
    """
    started = request_state().started
    duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
    user_session = request_state().user_session
    request_log.info(
        "method=%s endpoint=%s status=%s duration_ms=%.1f user=%s",
        request.method,
        request.endpoint or "-",
        response.status_code,
        duration_ms,
        user_session.user_id if user_session is not None else "-",
    )


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
    if current_app.config["SIGN_IN_COOKIE_NAME"] in request.cookies:
        headers["Cache-Control"] = "no-store"
        headers.add("Vary", "Cookie")
    if REQUEST_ID in g:
        headers["X-Request-ID"] = g.get(REQUEST_ID)
    return response


def register_security(app: Flask) -> None:
    """Install the request hooks above."""
    app.before_request(start_request)
    app.before_request(check_csrf)
    app.after_request(set_security_headers)
    # Sent once the response is final, after every after_request function.
    request_finished.connect(log_request, app)
