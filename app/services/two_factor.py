"""Two-factor sign-in: a TOTP app's six-digit codes, or a single-use recovery code.

Checking a code, at the second step of a sign-in or before a change that asks for
one, and the browsers trusted to skip the step. A TOTP code works once: the time
step of the last accepted code is stored, and only a later step passes. Recovery
codes are stored as sha256 digests (they are long random strings, like session
tokens) and deleted when used. Turning it on and off, and making recovery codes,
is two_factor_setup.py's.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from typing import Any, cast

import pyotp
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, delete, func, or_, select, update

from app.extensions import db
from app.models import RecoveryCode, SecurityEventKind, User, UserSession
from app.models.base import utcnow
from app.services import ServiceError, mailer, reauthentication
from app.services.accounts import check_password
from app.services.security_log import ClientInfo, record_event
from app.services.tokens import (
    InvalidLink,
    make_token,
    password_fingerprint,
    read_token,
)

TOTP_DIGITS = 6
RECOVERY_CODE_LENGTH = 10
# Longer than any code a member could mean: anything longer is refused unread.
CODE_MAX_LENGTH = 40
TRUSTED_BROWSER_PURPOSE = "trusted-browser"


class WrongCode(ServiceError):
    """The code is neither the app's current code nor an unused recovery code."""


class ReusedCode(WrongCode):
    """The app's code was right but was accepted before: each code works once."""


class NotOn(ServiceError):
    """Two-factor sign-in is off: there is nothing to check or turn off."""


# -- checking a code ----------------------------------------------------------


def totp_for(secret: str) -> pyotp.TOTP:
    """Return the TOTP of a secret (base32), making TOTP_DIGITS-digit codes."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS)


def typed_code(code: str) -> str:
    """Return a typed code in ASCII digits and letters, without spaces.

    A phone's keyboard may type fullwidth or Arabic-Indic digits, or letters of
    its own width; they are the code the member means.
    """
    code = unicodedata.normalize("NFKC", code)
    return "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else ch
        for ch in code
        if not ch.isspace()
    )


def matching_step(secret: str, code: str) -> int | None:
    """Return the time step whose code `code` is, within one step of now, else None."""
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = totp_for(secret)
    now = totp.timecode(utcnow())
    for step in (now - 1, now, now + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def recovery_code_digest(code: str) -> str:
    """Return the sha256 hex digest a recovery code (normalised) is stored as."""
    return hashlib.sha256(code.encode()).hexdigest()


def _normalized_recovery_code(code: str) -> str:
    # As printed "abcde-fghjk"; typed perhaps with spaces, capitals or no hyphen.
    return "".join(ch for ch in code.lower() if ch.isalnum())


def check_code(user: User, code: str, client: ClientInfo) -> bool:
    """Accept the app's code or a recovery code of the member, once; return which.

    Returns True when a recovery code was used (it is deleted, and the member is
    mailed and it is logged), False for the app's code. The caller commits.
    Raises NotOn when two-factor is off, ReusedCode for an app code accepted
    before, WrongCode for anything else.
    """
    if user.totp_secret is None:
        raise NotOn()
    if len(code) > CODE_MAX_LENGTH:
        raise WrongCode()
    code = typed_code(code)
    step = matching_step(user.totp_secret, code)
    if step is not None:
        _use_step(user, step)
        return False
    _use_recovery_code(user, code, client)
    return True


def _use_step(user: User, step: int) -> None:
    # One statement, so two requests racing with the same code cannot both pass.
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise ReusedCode()
    user.totp_last_step = step


def _use_recovery_code(user: User, code: str, client: ClientInfo) -> None:
    normalized = _normalized_recovery_code(code)
    if len(normalized) != RECOVERY_CODE_LENGTH:
        raise WrongCode()
    result = cast(
        CursorResult[Any],
        db.session.execute(
            delete(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == recovery_code_digest(normalized),
            )
        ),
    )
    if result.rowcount != 1:
        raise WrongCode()
    record_event(user.id, SecurityEventKind.RECOVERY_CODE_USED, client)
    mailer.queue_mail(
        user.email,
        _l("A recovery code was used on your account"),
        "recovery_code_used",
        language=mailer.member_language(user),
        name=user.name,
        left=recovery_codes_left(user.id),
        two_factor_link=mailer.link("account.two_factor"),
        forgot_link=mailer.link("auth.forgot"),
    )


def recovery_codes_left(user_id: int) -> int:
    """Return how many unused recovery codes the member has."""
    return (
        db.session.scalar(
            select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user_id)
        )
        or 0
    )


# -- the second step of a sign-in ---------------------------------------------


def trusted_browser_token(user: User) -> str:
    """Return the signed value of a cookie that lets this browser skip the step.

    It names the account, its password, its secret and when two-factor was
    turned on: a password change, or turning two-factor off and on again, ends
    every such cookie.
    """
    return make_token(TRUSTED_BROWSER_PURPOSE, _trust_payload(user))


def is_trusted_browser(user: User, token: str | None) -> bool:
    """Tell whether a trusted-browser cookie's value holds for the member.

    A cookie older than TRUSTED_BROWSER_MAX_AGE seconds no longer holds.
    """
    if not token or user.totp_secret is None:
        return False
    try:
        max_age: int = current_app.config["TRUSTED_BROWSER_MAX_AGE"]
        payload = read_token(TRUSTED_BROWSER_PURPOSE, token, max_age)
    except InvalidLink:
        return False
    return payload == _trust_payload(user)


def _trust_payload(user: User) -> dict[str, Any]:
    secret = user.totp_secret or ""
    enabled_at = user.totp_enabled_at
    return {
        "user": user.id,
        "password": password_fingerprint(user),
        "secret": hashlib.sha256(secret.encode()).hexdigest()[:16],
        # turned off and on again, even with the same secret: trust starts anew
        "since": enabled_at.isoformat() if enabled_at is not None else None,
    }


# -- before a change ----------------------------------------------------------


def confirm_password_and_code(
    user: User,
    password: str,
    code: str,
    client: ClientInfo,
    session: UserSession | None,
) -> None:
    """Check the password and, while two-factor is on, a code; open the window.

    Nothing is checked while `session`'s reauthentication window is open. Raises
    WrongPassword, WrongCode (ReusedCode); the caller commits with its change.
    """
    if reauthentication.window_open(session):
        return
    check_password(user, password)
    if user.totp_secret is not None:
        check_code(user, code, client)
    reauthentication.open_window(session, user, code_checked=True)
