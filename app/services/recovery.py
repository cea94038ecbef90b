"""Recovering a lost password through a single-use link."""

from __future__ import annotations

from app.extensions import db
from app.models import SecurityEventKind, User, UserSession
from app.services import mailer
from app.services.accounts import (
    find_user_by_email,
    password_fingerprint,
    set_password,
)
from app.services.email_address import normalize_email
from app.services.security_log import ClientInfo
from app.services.tokens import InvalidLink, make_token, read_token

RESET_PURPOSE = "reset-password"


def request_password_reset(email: str) -> None:
    """Mail the address a reset link if it has an active account, else a note.

    Both answers are a mail to the address typed, queued in one commit: the same
    work, so neither the page nor its timing tells which addresses have accounts.
    """
    email = normalize_email(email)
    user = find_user_by_email(email)
    if user is not None and user.is_active:
        queue_reset_link(user)
    else:
        mailer.queue_mail(
            email,
            "Your password reset request",
            "no_account",
            register_link=mailer.link("auth.register"),
        )
    db.session.commit()


def queue_reset_link(user: User) -> None:
    """Queue a reset link to the user's address; the caller's transaction commits it.

    The link carries the password's fingerprint: any password change, the reset
    it makes too, voids it.
    """
    token = make_token(
        RESET_PURPOSE, {"uid": user.id, "pw": password_fingerprint(user)}
    )
    mailer.queue_mail(
        user.email,
        "Reset your password",
        "reset",
        user=user,
        link=mailer.link("auth.reset", token=token),
    )


def user_for_reset(token: str, max_age: int) -> User:
    """Return the user a genuine, unused reset link belongs to.

    `max_age` is in seconds. Raises ExpiredLink for an older link, InvalidLink for
    one tampered with, used, made before the latest password change, or whose
    account is gone or deactivated.
    """
    payload = read_token(RESET_PURPOSE, token, max_age)
    user = db.session.get(User, payload.get("uid"))
    if (
        user is None
        or not user.is_active
        or payload.get("pw") != password_fingerprint(user)
    ):
        raise InvalidLink()
    return user


def reset_password(
    token: str,
    new: str,
    *,
    max_age: int,
    keep: UserSession | None,
    client: ClientInfo,
) -> int:
    """Set a new password from a reset link, end the account's sessions, mail a notice.

    `keep`, the session that asked, stays signed in if it is the account's own.
    Returns how many sessions were signed out. Raises what `user_for_reset`
    raises, or WeakPassword; nothing changes then.
    """
    user = user_for_reset(token, max_age)
    own_session = keep if keep is not None and keep.user_id == user.id else None
    return set_password(
        user,
        new,
        keep=own_session,
        client=client,
        event=SecurityEventKind.PASSWORD_RESET,
        subject="Your password was reset",
    )
