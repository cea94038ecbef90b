"""Between a right password and the second step: the pending sign-in, and trust.

A pending sign-in is not a session: it lives in the state cookie (signed, so it
cannot be forged), holds what `sign_in.SecondStepNeeded` says resumes it (the
account, its password, its last sign-in so that it finishes once, when it
started), and opens nothing but /auth/two-factor. Whether it may still finish
(TWO_FACTOR_STEP_MAX_AGE) is app/services/sign_in.py's to say; this module only
keeps it. A trusted browser carries a signed cookie (TRUSTED_BROWSER_COOKIE_NAME)
whose value the sign-in service makes and reads: it lets the browser skip the
second step for TRUSTED_BROWSER_MAX_AGE seconds, until the password changes or
two-factor is turned off.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app, request, session
from werkzeug import Response

from app.models import User
from app.services import sign_in
from app.services.sign_in import SecondStepNeeded
from app.web.ratelimits import ip_key

PENDING_KEY = "pending_sign_in"  # its key in the state cookie


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in whose password was right, waiting for its second step."""

    user: User
    remember: bool
    next_url: str
    time_zone: str  # the browser's, from the sign-in form ("" if it did not say)


def begin_second_step(step: SecondStepNeeded, *, next_url: str) -> None:
    """Keep in the state cookie the sign-in that waits for its second step."""
    session[PENDING_KEY] = {
        "user": step.user.id,
        "password": step.password,
        # any sign-in of the account since ends this one: a copy of the state
        # cookie cannot finish a second sign-in
        "last_sign_in": step.last_sign_in,
        "remember": step.remember,
        "next": next_url,
        "time_zone": step.time_zone,
        "at": step.started_at,
        # names this pending sign-in alone, for the rate limit of its codes
        "key": secrets.token_urlsafe(16),
    }


def pending_sign_in() -> PendingSignIn | None:
    """Return this browser's pending sign-in, if it is recent and can still finish."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    user_id, fingerprint = data.get("user"), data.get("password")
    started, last_sign_in = data.get("at"), data.get("last_sign_in")
    if (
        not isinstance(user_id, int)
        or not isinstance(fingerprint, str)
        or not isinstance(started, int)
        or not isinstance(last_sign_in, str | None)
    ):
        return None
    user = sign_in.resume_second_step(user_id, fingerprint, last_sign_in, started)
    if user is None:
        return None
    return PendingSignIn(
        user,
        data.get("remember") is True,
        str(data.get("next", "")),
        str(data.get("time_zone", "")),
    )


def end_second_step() -> None:
    """Forget this browser's pending sign-in."""
    session.pop(PENDING_KEY, None)


def pending_key() -> str:
    """Rate-limit key of the second step: the pending sign-in, else the client IP."""
    data = session.get(PENDING_KEY)
    if isinstance(data, dict) and isinstance(data.get("key"), str):
        return f"pending:{data['key']}"
    return ip_key()


def trusted_browser() -> str | None:
    """Return the value of this browser's trusted-browser cookie, if it has one."""
    return request.cookies.get(current_app.config["TRUSTED_BROWSER_COOKIE_NAME"])


def trust_this_browser(response: Response, token: str) -> None:
    """Set the cookie that lets this browser skip the member's second step.

    `token` is the cookie's value, from the sign-in that asked for it
    (`SignedIn.trusted_browser`).
    """
    config = current_app.config
    response.set_cookie(
        config["TRUSTED_BROWSER_COOKIE_NAME"],
        token,
        max_age=config["TRUSTED_BROWSER_MAX_AGE"],
        secure=config["SIGN_IN_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
