"""Recovering a lost password through a single-use link."""

from __future__ import annotations

import hashlib

from app.extensions import db
from app.models import SecurityEventKind, User, UserSession
from app.services import mailer
from app.services.accounts import find_user_by_email, set_password
from app.services.email_address import normalize_email
from app.services.security_log import ClientInfo
from app.services.tokens import InvalidLink, make_token, read_token

RESET_PURPOSE = "reset-password"


def _fingerprint(user: User) -> str:
    # Tied to the current hash: any password change, this reset too, voids the link.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(email: str) -> None:
    """Mail the address a reset link if it has an active account, else a note.

    Both answers are a mail to the address typed, queued in one commit: the same
    work, so neither the page nor its timing tells which addresses have accounts.
    """
    email = normalize_email(email)
    user = find_user_by_email(email)
    if user is not None and user.is_active:
        token = make_token(RESET_PURPOSE, {"uid": user.id, "pw": _fingerprint(user)})
        mailer.queue_mail(
            user.email,
            "Reset your password",
            "reset",
            user=user,
            link=mailer.link("auth.reset", token=token),
        )
    else:
        mailer.queue_mail(
            email,
            "Your password reset request",
            "no_account",
            register_link=mailer.link("auth.register"),
        )
    db.session.commit()


def user_for_reset(token: str, max_age: int) -> User:
    """Return the user a genuine, unused reset link belongs to.

    `max_age` is in seconds. Raises ExpiredLink for an older link, InvalidLink for
    one tampered with, used, made before the latest password change, or whose
    account is gone or deactivated.
    """
    payload = read_token(RESET_PURPOSE, token, max_age)
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.is_active or payload.get("pw") != _fingerprint(user):
        raise InvalidLink()
    return user


def reset_password(
    token: str,
    new: str,
    *,
    max_age: int,
    keep: UserSession | None,
    client: ClientInfo,
) -> User:
    """Set a new password from a reset link, end the account's sessions, mail a notice.

    `keep`, the session that asked, stays signed in if it is the account's own.
    Raises what `user_for_reset` raises, or WeakPassword; nothing changes then.
    """
    user = user_for_reset(token, max_age)
    own_session = keep if keep is not None and keep.user_id == user.id else None
    set_password(
        user,
        new,
        keep=own_session,
        client=client,
        event=SecurityEventKind.PASSWORD_RESET,
        subject="Your password was reset",
    )
    return user
