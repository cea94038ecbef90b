"""Turning two-factor sign-in on and off, and new recovery codes for a member.

Turning it on takes a secret the member's app scanned and one of its codes, so it
is never on with a secret the member does not have; it makes ten recovery codes,
shown once and stored as sha256 digests. Turning it off, or making new codes, asks
for the password and a code as the account page does. Checking a code, at a
sign-in or here, is two_factor.py's.
"""

from __future__ import annotations

import secrets
from typing import Any, NamedTuple, cast

import pyotp
import segno
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, delete, update

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
from app.services.two_factor import (
    RECOVERY_CODE_LENGTH,
    NotOn,
    WrongCode,
    confirm_password_and_code,
    matching_step,
    recovery_code_digest,
    totp_for,
    typed_code,
)

ISSUER = "Vestibule"  # the name authenticator apps show beside the account
RECOVERY_CODE_COUNT = 10
# Letters and digits that cannot be mistaken for one another when copied by hand:
# ten of them give 31**10, about 2**49, codes.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
ENROLMENT_PURPOSE = "two-factor-enrolment"


class AlreadyOn(ServiceError):
    """Two-factor sign-in is on already (turned on in another tab, say)."""


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
    return totp_for(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """Return the URI as a QR code: an inline `<svg>` element, black on white."""
    svg: str = segno.make(uri, error="m", micro=False).svg_inline(
        scale=4,
        dark="#000",
        light="#fff",
        title=_("QR code for your authenticator app"),
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
    step = matching_step(secret, typed_code(code))
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


# -- turning it off, new codes ------------------------------------------------


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
        _l("New recovery codes were made for your account"),
        "recovery_codes_renewed",
        language=mailer.member_language(user),
        name=user.name,
        two_factor_link=mailer.link("account.two_factor"),
        forgot_link=mailer.link("auth.forgot"),
    )
    db.session.commit()
    return codes


def _replace_recovery_codes(user_id: int) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _count in range(RECOVERY_CODE_COUNT):
        code = "".join(
            secrets.choice(RECOVERY_ALPHABET) for _place in range(RECOVERY_CODE_LENGTH)
        )
        db.session.add(
            RecoveryCode(user_id=user_id, code_hash=recovery_code_digest(code))
        )
        half = RECOVERY_CODE_LENGTH // 2
        codes.append(f"{code[:half]}-{code[half:]}")
    return codes


def _queue_notice(user: User, *, turned_on: bool, by_operator: bool = False) -> None:
    if turned_on:
        subject = _l("Two-factor sign-in is now on")
    else:
        subject = _l("Two-factor sign-in is now off")
    mailer.queue_mail(
        user.email,
        subject,
        "two_factor_changed",
        language=mailer.member_language(user),
        name=user.name,
        turned_on=turned_on,
        by_operator=by_operator,
        two_factor_link=mailer.link("account.two_factor"),
        forgot_link=mailer.link("auth.forgot"),
    )
