"""Between a right password and the second step: the pending sign-in, and trust.

A pending sign-in is not a session: it lives in the state cookie (signed, so it
cannot be forged), names the account, its password and its last sign-in (so it
finishes once), expires after TWO_FACTOR_STEP_MAX_AGE seconds, and opens nothing
but /auth/two-factor.
A trusted browser carries a signed cookie (TRUSTED_BROWSER_COOKIE_NAME) that lets
it skip the second step for TRUSTED_BROWSER_MAX_AGE seconds, until the password
changes or two-factor is turned off.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, request, session
from werkzeug import Response

from app.models import User
from app.models.base import utcnow
from app.services import signin, two_factor
from app.services.tokens import password_fingerprint
from app.web.ratelimits import ip_key

PENDING_KEY = "pending_sign_in"  # its key in the state cookie


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in whose password was right, waiting for its second step."""

    user: User
    remember: bool
    next_url: str
    time_zone: str  # the browser's, from the sign-in form ("" if it did not say)


def begin_second_step(
    user: User, *, remember: bool, next_url: str, time_zone: str = ""
) -> None:
    """Remember in the state cookie that `user` gave the right password just now."""
    session[PENDING_KEY] = {
        "user": user.id,
        "password": password_fingerprint(user),
        # any sign-in of the account since ends this one: a copy of the state
        # cookie cannot finish a second sign-in
        "last_sign_in": _moment(user.last_login_at),
        "remember": remember,
        "next": next_url,
        "time_zone": time_zone,
        "at": int(utcnow().timestamp()),
        # names this pending sign-in alone, for the rate limit of its codes
        "key": secrets.token_urlsafe(16),
    }


def pending_sign_in() -> PendingSignIn | None:
    """Return this browser's pending sign-in, if it is recent and can still finish."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    started = data.get("at")
    max_age = current_app.config["TWO_FACTOR_STEP_MAX_AGE"]
    if not isinstance(started, int) or utcnow().timestamp() - started > max_age:
        return None
    user_id, fingerprint = data.get("user"), data.get("password")
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        return None
    user = signin.pending_user(user_id, fingerprint)
    if user is None or _moment(user.last_login_at) != data.get("last_sign_in"):
        return None
    return PendingSignIn(
        user,
        data.get("remember") is True,
        str(data.get("next", "")),
        str(data.get("time_zone", "")),
    )


def _moment(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def end_second_step() -> None:
    """Forget this browser's pending sign-in."""
    session.pop(PENDING_KEY, None)


def pending_key() -> str:
    """Rate-limit key of the second step: the pending sign-in, else the client IP."""
    data = session.get(PENDING_KEY)
    if isinstance(data, dict) and isinstance(data.get("key"), str):
        return f"pending:{data['key']}"
    return ip_key()


def is_trusted_browser(user: User) -> bool:
    """Tell whether this browser may skip the member's second step."""
    cookie = request.cookies.get(current_app.config["TRUSTED_BROWSER_COOKIE_NAME"])
    return two_factor.is_trusted_browser(user, cookie)


def trust_this_browser(response: Response, user: User) -> None:
    """Set the cookie that lets this browser skip the member's second step."""
    config = current_app.config
    response.set_cookie(
        config["TRUSTED_BROWSER_COOKIE_NAME"],
        two_factor.trusted_browser_token(user),
        max_age=config["TRUSTED_BROWSER_MAX_AGE"],
        secure=config["SIGN_IN_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
