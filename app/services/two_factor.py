"""Two-factor sign-in: a TOTP app's six-digit codes, or a single-use recovery code.

Turning it on takes a secret the member's app scanned and one of its codes, so it
is never on with a secret the member does not have. A TOTP code works once: the
time step of the last accepted code is stored, and only a later step passes.
Recovery codes are stored as sha256 digests (they are long random strings, like
session tokens) and deleted when used.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from typing import Any, NamedTuple, cast

import pyotp
import segno
from flask import current_app
from sqlalchemy import CursorResult, delete, func, or_, select, update

from app.extensions import db
from app.models import RecoveryCode, SecurityEventKind, User, UserSession
from app.models.base import utcnow
from app.services import ServiceError, mailer, reauthentication
from app.services.accounts import check_password
from app.services.security_log import ClientInfo, record_event
from app.services.sessions import end_every_session, end_other_sessions
from app.services.tokens import (
    InvalidLink,
    make_token,
    password_fingerprint,
    read_token,
)

ISSUER = "Vestibule"  # the name authenticator apps show beside the account
TOTP_DIGITS = 6
RECOVERY_CODE_COUNT = 10
# Letters and digits that cannot be mistaken for one another when copied by hand:
# ten of them give 31**10, about 2**49, codes.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
# Longer than any code a member could mean: anything longer is refused unread.
CODE_MAX_LENGTH = 40
ENROLMENT_PURPOSE = "two-factor-enrolment"
TRUSTED_BROWSER_PURPOSE = "trusted-browser"


class WrongCode(ServiceError):
    """The code is neither the app's current code nor an unused recovery code."""


class ReusedCode(WrongCode):
    """The app's code was right but was accepted before: each code works once."""


class AlreadyOn(ServiceError):
    """Two-factor sign-in is on already (turned on in another tab, say)."""


class NotOn(ServiceError):
    """Two-factor sign-in is off: there is nothing to check or turn off."""


# -- turning it on ------------------------------------------------------------


def new_enrolment(user: User) -> str:
    """Draw a new secret for the member; return the signed token that carries it.

    The token goes into the enrolment form, so nothing is stored until a code
    from the member's app confirms it (`enable`). It is bound to the account and
    its password: another account, or a changed password, makes it void.
    """
    return make_token(
        ENROLMENT_PURPOSE,
        {
            "user": user.id,
            "password": password_fingerprint(user),
            "secret": pyotp.random_base32(),
        },
    )


def read_enrolment(user: User, token: str) -> str:
    """Return the secret an enrolment token carries for this member.

    Raises InvalidLink (ExpiredLink when only older than
    TWO_FACTOR_ENROLMENT_MAX_AGE seconds)
    unless the token was made for this member and their current password.
    """
    max_age: int = current_app.config["TWO_FACTOR_ENROLMENT_MAX_AGE"]
    payload = read_token(ENROLMENT_PURPOSE, token, max_age)
    secret = payload.get("secret")
    if (
        payload.get("user") != user.id
        or payload.get("password") != password_fingerprint(user)
        or not isinstance(secret, str)
    ):
        raise InvalidLink()
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """Return the URI as a QR code: an inline `<svg>` element, black on white."""
    svg: str = segno.make(uri, error="m", micro=False).svg_inline(
        scale=4,
        dark="#000",
        light="#fff",
        title="QR code for your authenticator app",
        svgclass="qr-code",
    )
    return svg


class TurnedOn(NamedTuple):
    """What turning two-factor on gave: the new recovery codes (in clear, shown
    once) and how many other sessions it signed out."""

    codes: list[str]
    ended: int


def enable(
    user_id: int,
    secret: str,
    password: str,
    code: str,
    client: ClientInfo,
    *,
    keep: UserSession | None,
) -> TurnedOn:
    """Turn two-factor sign-in on with `secret`, end every other session; commit.

    `code` must be the app's current code for the secret (one step of clock
    drift either way is allowed); `password` is not asked for while `keep`'s
    reauthentication window is open. `keep`, the session that asked, stays
    signed in if it is the account's own: a session opened before the new
    protection (a thief's, say) does not outlive it; the security log records
    the ending. Raises WrongPassword, WrongCode or AlreadyOn, changing nothing.
    The codes are returned once, in clear, and stored hashed.
    """
    user = db.session.get_one(User, user_id)
    if user.totp_secret is not None:
        raise AlreadyOn()
    if not reauthentication.window_open(keep):
        check_password(user, password)
    step = _matching_step(secret, typed_code(code))
    if step is None:
        raise WrongCode()
    reauthentication.open_window(keep, user)
    # Conditional, so that of two tabs turning it on at once only one does.
    turned_on = cast(
        CursorResult[Any],
        db.session.execute(
            update(User)
            .where(User.id == user.id, User.totp_secret.is_(None))
            .values(totp_secret=secret, totp_enabled_at=utcnow(), totp_last_step=step)
            .execution_options(synchronize_session="fetch")
        ),
    )
    if turned_on.rowcount != 1:
        db.session.rollback()
        raise AlreadyOn()
    codes = _replace_recovery_codes(user.id)
    record_event(user.id, SecurityEventKind.TWO_FACTOR_ON, client)
    if keep is not None and keep.user_id == user.id:
        ended = end_other_sessions(user.id, keep)
    else:
        ended = end_every_session(user.id)
    if ended:
        record_event(user.id, SecurityEventKind.OTHER_SESSIONS_REVOKED, client)
    _queue_notice(user, turned_on=True)
    db.session.commit()
    return TurnedOn(codes, ended)


def display_secret(secret: str) -> str:
    """Return the secret in groups of four letters, as a person types it."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# -- checking a code ----------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
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


def _matching_step(secret: str, code: str) -> int | None:
    """Return the time step whose code `code` is, within one step of now, else None."""
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = _totp(secret)
    now = totp.timecode(utcnow())
    for step in (now - 1, now, now + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _recovery_digest(code: str) -> str:
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
    step = _matching_step(user.totp_secret, code)
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
                RecoveryCode.code_hash == _recovery_digest(normalized),
            )
        ),
    )
    if result.rowcount != 1:
        raise WrongCode()
    record_event(user.id, SecurityEventKind.RECOVERY_CODE_USED, client)
    mailer.queue_mail(
        user.email,
        "A recovery code was used on your account",
        "recovery_code_used",
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


# -- managing it --------------------------------------------------------------


def disable(
    user_id: int,
    password: str,
    code: str,
    client: ClientInfo,
    session: UserSession | None = None,
) -> None:
    """Turn two-factor sign-in off; commit.

    Needs the password and a code (the app's, or a recovery code), unless
    `session`'s reauthentication window is open. Raises WrongPassword, WrongCode
    (ReusedCode) or NotOn, changing nothing.
    """
    user = db.session.get_one(User, user_id)
    if user.totp_secret is None:
        raise NotOn()
    confirm_password_and_code(user, password, code, client, session)
    switch_off(user)
    record_event(user.id, SecurityEventKind.TWO_FACTOR_OFF, client)
    db.session.commit()


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


def switch_off(user: User, *, by_operator: bool = False) -> None:
    """Forget the member's secret and recovery codes, and mail them; the caller commits.

    What turning two-factor off is, checked or not: `disable` checks the member's
    password and code first, an operator's support action (services.admin) checks
    who asked. No trusted-browser cookie holds afterwards (each names the secret
    and when it was turned on), nor does a pending sign-in. The notice says who
    did it: the member, or the site's operator when `by_operator`. The caller
    writes the security log.
    """
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    _queue_notice(user, turned_on=False, by_operator=by_operator)


def renew_recovery_codes(
    user_id: int,
    password: str,
    code: str,
    client: ClientInfo,
    session: UserSession | None = None,
) -> list[str]:
    """Replace the member's recovery codes with ten new ones; commit; return them.

    Needs the password and a code (the app's, or a recovery code), as turning
    two-factor off does: new codes are new second factors, so a stolen session
    with the password alone must not get them (neither is asked for while
    `session`'s reauthentication window is open). The old codes stop working; the
    member is mailed and it is logged. Returns the ten codes in clear, "abcde-fghjk".
    Raises WrongPassword, WrongCode (ReusedCode) or NotOn, changing nothing.
    """
    user = db.session.get_one(User, user_id)
    if user.totp_secret is None:
        raise NotOn()
    confirm_password_and_code(user, password, code, client, session)
    codes = _replace_recovery_codes(user.id)
    record_event(user.id, SecurityEventKind.RECOVERY_CODES_RENEWED, client)
    mailer.queue_mail(
        user.email,
        "New recovery codes were made for your account",
        "recovery_codes_renewed",
        name=user.name,
        two_factor_link=mailer.link("account.two_factor"),
        forgot_link=mailer.link("auth.forgot"),
    )
    db.session.commit()
    return codes


def _replace_recovery_codes(user_id: int) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        code = "".join(
            secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)
        )
        db.session.add(RecoveryCode(user_id=user_id, code_hash=_recovery_digest(code)))
        half = RECOVERY_CODE_LENGTH // 2
        codes.append(f"{code[:half]}-{code[half:]}")
    return codes


def _queue_notice(user: User, *, turned_on: bool, by_operator: bool = False) -> None:
    mailer.queue_mail(
        user.email,
        "Two-factor sign-in is now " + ("on" if turned_on else "off"),
        "two_factor_changed",
        name=user.name,
        turned_on=turned_on,
        by_operator=by_operator,
        two_factor_link=mailer.link("account.two_factor"),
        forgot_link=mailer.link("auth.forgot"),
    )
