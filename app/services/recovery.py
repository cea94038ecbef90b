"""Recovering a lost password through a single-use link."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from app.extensions import db
from app.models import SecurityEventKind, User, UserSession
from app.services import mailer
from app.services.accounts import (
    find_user_by_email,
    set_password,
)
from app.services.email_address import normalize_email
from app.services.security_log import ClientInfo
from app.services.tokens import (
    InvalidLink,
    address_digest,
    make_token,
    new_link_key,
    password_fingerprint,
    read_token,
)

RESET_PURPOSE = "reset-password"


def request_password_reset(email: str) -> None:
    """Mail the address a reset link if it has an active account, else a note.

    Both answers are a mail to the address typed, queued in one commit after the
    same statements (the key of a newer link is stored for the address, held or
    not): neither the page nor its timing tells which addresses have accounts.
    """
    email = normalize_email(email)
    user = find_user_by_email(email)
    key = new_link_key()
    db.session.execute(
        update(User).where(User.email == email).values(reset_link_key=key)
    )
    if user is not None and user.is_active:
        _queue_reset_mail(user, key)
    else:
        mailer.queue_mail(
            email,
            _l("Your password reset request"),
            "no_account",
            language=None,  # no member's: the page's language
            register_link=mailer.link("auth.register"),
        )
    db.session.commit()


def queue_reset_link(user: User) -> None:
    """Queue a reset link to the user's address; the caller's transaction commits it.

    It voids every reset link mailed before (see `user_for_reset`).
    """
    key = new_link_key()
    user.reset_link_key = key
    _queue_reset_mail(user, key)


def _queue_reset_mail(user: User, key: str) -> None:
    # The link carries the key of the newest reset link, the address it is mailed
    # to and the password's fingerprint: a newer link, a move (which replaces the
    # key, see email_change) and any password change, the reset it makes
    # included, void it.
    payload = {"uid": user.id, "pw": password_fingerprint(user), "key": key}
    token = make_token(RESET_PURPOSE, {**payload, "to": address_digest(user.email)})
    mailer.queue_mail(
        user.email,
        _l("Reset your password"),
        "reset",
        language=mailer.member_language(user),
        user=user,
        link=mailer.link("auth.reset", token=token),
    )


def user_for_reset(token: str) -> User:
    """Return the user a genuine, unused reset link belongs to.

    Raises ExpiredLink for a link older than RESET_TOKEN_MAX_AGE seconds,
    InvalidLink for one tampered with or used, made before the latest password
    change, before a newer reset link or before the account moved to another address
    (also when it moved back since), or whose account is gone or deactivated.
    """
    max_age: int = current_app.config["RESET_TOKEN_MAX_AGE"]
    payload = read_token(RESET_PURPOSE, token, max_age)
    user = db.session.get(User, payload.get("uid"))
    if (
        user is None
        or not user.is_active
        or payload.get("pw") != password_fingerprint(user)
        # links mailed before they carried these have neither
        or payload.get("key") != user.reset_link_key
        or payload.get("to", address_digest(user.email)) != address_digest(user.email)
    ):
        raise InvalidLink()
    return user


def reset_password(
    token: str,
    new: str,
    *,
    keep: UserSession | None,
    client: ClientInfo,
) -> int:
    """Set a new password from a reset link, end the account's sessions, mail a notice.

    `keep`, the session that asked, stays signed in if it is the account's own.
    Returns how many sessions were signed out. Raises what `user_for_reset`
    raises, or WeakPassword; nothing changes then.
    """
    user = user_for_reset(token)
    own_session = keep if keep is not None and keep.user_id == user.id else None
    return set_password(
        user,
        new,
        keep=own_session,
        client=client,
        event=SecurityEventKind.PASSWORD_RESET,
        subject=_l("Your password was reset"),
    )
