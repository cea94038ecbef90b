"""Moving an account to another e-mail address, proven by a link, undoable for 7 days.

Nothing changes until the link mailed to the new address is confirmed. The old
address then gets a notice with a link that puts it back, for the case where a
thief moved the account: it also locks the password the thief knew and ends every
session. An address that another account holds gets the same answer as a free
one, and a mail of its own instead of a link.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import SecurityEvent, SecurityEventKind, User
from app.models.base import utcnow
from app.services import ServiceError, mailer
from app.services.accounts import (
    WrongPassword,
    find_user_by_email,
    lock_password,
    password_fingerprint,
)
from app.services.email_address import normalize_email
from app.services.passwords import verify_password
from app.services.recovery import queue_reset_link
from app.services.security_log import ClientInfo, record_event
from app.services.sessions import end_every_session
from app.services.tokens import InvalidLink, make_token, read_token

CHANGE_PURPOSE = "change-email"
UNDO_PURPOSE = "undo-email-change"


class SameAddress(ServiceError):
    """The new address is the account's address already."""


class AddressTaken(ServiceError):
    """Another account took the address between the link's mail and its use."""


def _digest(email: str) -> str:
    # A change link names the address it moves from by digest: its reader, maybe a
    # stranger at a mistyped address, learns nothing from it.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def request_email_change(user_id: int, new_email: str, password: str) -> str:
    """Mail the new address a link that moves the account to it; return it canonical.

    A taken address is mailed a note instead, and the answer is the same. Raises
    WrongPassword or SameAddress, changing nothing.
    """
    user = db.session.get_one(User, user_id)
    if not verify_password(user.password_hash, password):
        raise WrongPassword()
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise SameAddress()
    if find_user_by_email(new_email) is not None:
        mailer.queue_mail(
            new_email,
            "Someone tried to move an account to your address",
            "email_taken",
            forgot_link=mailer.link("auth.forgot"),
        )
    else:
        payload = {"uid": user.id, "from": _digest(user.email), "new": new_email}
        fingerprint = password_fingerprint(user)
        issued = utcnow().timestamp()
        token = make_token(CHANGE_PURPOSE, {**payload, "pw": fingerprint, "at": issued})
        mailer.queue_mail(
            new_email,
            "Confirm your new e-mail address",
            "email_change",
            link=mailer.link("auth.confirm_email_change", token=token),
        )
    db.session.commit()
    return new_email


def _account_as_linked(payload: dict[str, Any]) -> User:
    # The link's account, still active, with the password it had when the link was
    # mailed: a move back (which locks the password) or a password change voids it.
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.is_active:
        raise InvalidLink()
    if payload.get("pw") != password_fingerprint(user):
        raise InvalidLink()
    return user


def _address(payload: dict[str, Any], key: str) -> str:
    address = payload.get(key)
    if not isinstance(address, str):
        raise InvalidLink()
    return address


def read_change_link(token: str, max_age: int) -> tuple[User, str]:
    """Return the account a change link moves and its new address.

    `max_age` is in seconds. Raises ExpiredLink for an older link and InvalidLink
    for one tampered with or used, or whose account moved, changed its password,
    was deactivated or left since.
    """
    payload = read_token(CHANGE_PURPOSE, token, max_age)
    user = _account_as_linked(payload)
    if payload.get("from") != _digest(user.email):
        raise InvalidLink()  # used, or the account moved since
    if _moved_since(user.id, payload.get("at")):
        raise InvalidLink()  # it moved, and back to the address it had then
    return user, _address(payload, "new")


def _moved_since(user_id: int, issued: object) -> bool:
    # Links mailed before they carried their time ("at", seconds since the epoch)
    # are checked by their address alone.
    if not isinstance(issued, int | float):
        return False
    moves = select(SecurityEvent.id).where(
        SecurityEvent.user_id == user_id,
        SecurityEvent.kind.in_(
            [SecurityEventKind.EMAIL_CHANGED, SecurityEventKind.EMAIL_CHANGE_UNDONE]
        ),
        SecurityEvent.created_at > datetime.fromtimestamp(issued, UTC),
    )
    return db.session.scalar(moves.limit(1)) is not None


def confirm_email_change(token: str, max_age: int, client: ClientInfo) -> User:
    """Move the account to the link's address, mail the old one an undo link; commit.

    Raises what `read_change_link` raises, or AddressTaken; nothing changes then.
    """
    user, new_email = read_change_link(token, max_age)
    old_email = user.email
    user.email = new_email
    record_event(user.id, SecurityEventKind.EMAIL_CHANGED, client)
    addresses = {"old": old_email, "new": new_email}
    fingerprint = password_fingerprint(user)
    undo = make_token(UNDO_PURPOSE, {"uid": user.id, **addresses, "pw": fingerprint})
    mailer.queue_mail(
        old_email,
        "Your Vestibule account moved to another address",
        "email_changed",
        user=user,
        new_email=new_email,
        link=mailer.link("auth.undo_email_change", token=undo),
    )
    try:
        db.session.commit()
    except IntegrityError:  # the address was taken since the link was mailed
        db.session.rollback()
        raise AddressTaken() from None
    return user


def read_undo_link(token: str, max_age: int) -> tuple[User, str]:
    """Return the account an undo link moves back and the address it moves back to.

    Good until the account is back at that address: whoever moved the account knew
    its password, so neither a password change nor a further move since voids it.
    `max_age` is in seconds. Raises ExpiredLink, or InvalidLink for a link tampered
    with or used, or whose account was deactivated or left.
    """
    payload = read_token(UNDO_PURPOSE, token, max_age)
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.is_active:
        raise InvalidLink()
    old_email = _address(payload, "old")
    if user.email == old_email:
        raise InvalidLink()  # used: the account is back
    return user, old_email


def undo_email_change(token: str, max_age: int, client: ClientInfo) -> User:
    """Move the account back, lock out whoever moved it, mail a reset link; commit.

    Whoever moved the account knew its password: the password is replaced by one
    nobody knows (which voids every link mailed before, reset links to the other
    address included), every session ends, and the old address gets a reset link;
    the address the account leaves is told.
    Raises what `read_undo_link` raises, or AddressTaken; nothing changes then.
    """
    user, old_email = read_undo_link(token, max_age)
    left_email = user.email
    end_every_session(user.id)
    user.email = old_email
    lock_password(user)
    record_event(user.id, SecurityEventKind.EMAIL_CHANGE_UNDONE, client)
    queue_reset_link(user)
    mailer.queue_mail(
        left_email,
        "Your Vestibule account moved back to its earlier address",
        "email_change_undone",
        user=user,
    )
    try:
        db.session.commit()
    except IntegrityError:  # the old address has an account of its own now
        db.session.rollback()
        raise AddressTaken() from None
    return user
