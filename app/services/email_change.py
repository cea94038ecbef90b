"""Moving an account to another e-mail address, proven by a link, and undoing it.

Nothing changes until the link mailed to the new address is confirmed (within
EMAIL_CHANGE_TOKEN_MAX_AGE seconds). The old address then gets a notice with a
link that puts it back (for EMAIL_UNDO_TOKEN_MAX_AGE seconds), for the case where a
thief moved the account: it also locks the password the thief knew and ends every
session. An address that another account holds gets the same answer as a free
one, and a mail of its own instead of a link.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import SecurityEventKind, User, UserSession
from app.models.base import utcnow
from app.services import ServiceError, mailer, reauthentication
from app.services.accounts import check_password, find_user_by_email, lock_password
from app.services.email_address import normalize_email
from app.services.recovery import queue_reset_link
from app.services.security_log import ClientInfo, record_event
from app.services.sessions import end_every_session
from app.services.tokens import (
    InvalidLink,
    address_digest,
    make_token,
    moved_since,
    new_link_key,
    password_fingerprint,
    read_token,
)

CHANGE_PURPOSE = "change-email"
UNDO_PURPOSE = "undo-email-change"


class SameAddress(ServiceError):
    """The new address is the account's address already."""


class AddressTaken(ServiceError):
    """Another account took the address between the link's mail and its use."""


def request_email_change(
    user_id: int, new_email: str, password: str, session: UserSession | None = None
) -> str:
    """Mail the new address a link that moves the account to it; return it canonical.

    A taken address is mailed a note instead, and the answer is the same. Either
    way every change link mailed before is void, so a mistyped address keeps no
    live link, and whether the earlier one still works tells nothing. The password
    is not asked for while `session`'s reauthentication window is open. Raises
    WrongPassword or SameAddress, changing nothing.
    """
    user = db.session.get_one(User, user_id)
    if not reauthentication.window_open(session):
        check_password(user, password)
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise SameAddress()
    reauthentication.open_window(session, user)
    key = user.email_change_link_key = new_link_key()
    holder = find_user_by_email(new_email)
    if holder is not None:
        # In the holder's language: the asking member's page chooses nothing for them.
        mailer.queue_mail(
            new_email,
            _l("Someone tried to move an account to your address"),
            "email_taken",
            language=mailer.member_language(holder),
            forgot_link=mailer.link("auth.forgot"),
        )
    else:
        payload = {"uid": user.id, "from": address_digest(user.email), "key": key}
        fingerprint = password_fingerprint(user)
        issued = utcnow().timestamp()
        token = make_token(
            CHANGE_PURPOSE,
            {**payload, "new": new_email, "pw": fingerprint, "at": issued},
        )
        mailer.queue_mail(
            new_email,
            _l("Confirm your new e-mail address"),
            "email_change",
            language=mailer.member_language(user),  # to the member's new address
            link=mailer.link("auth.confirm_email_change", token=token),
        )
    db.session.commit()
    return new_email


def _account(user_id: object, *, for_update: bool) -> User | None:
    # With for_update, the row is locked until the transaction ends (PostgreSQL):
    # a move and an undo of one account then run one after the other, each
    # judging its link by what the other left.
    if not isinstance(user_id, int):
        return None
    return db.session.get(
        User, user_id, with_for_update=for_update, populate_existing=for_update
    )


def _account_as_linked(payload: dict[str, Any], *, for_update: bool = False) -> User:
    # The link's account, still active, with the password it had when the link was
    # mailed: a move back (which locks the password) or a password change voids it.
    user = _account(payload.get("uid"), for_update=for_update)
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


def read_change_link(token: str, *, for_update: bool = False) -> tuple[User, str]:
    """Return the account a change link moves and its new address.

    `for_update` locks the account's row. Raises ExpiredLink for a link older
    than EMAIL_CHANGE_TOKEN_MAX_AGE seconds and InvalidLink for one tampered
    with or used, or whose account moved, changed its password, asked for a
    newer change, was deactivated or left since.
    """
    max_age: int = current_app.config["EMAIL_CHANGE_TOKEN_MAX_AGE"]
    payload = read_token(CHANGE_PURPOSE, token, max_age)
    user = _account_as_linked(payload, for_update=for_update)
    if payload.get("from") != address_digest(user.email):
        raise InvalidLink()  # used, or the account moved since
    if payload.get("key") != user.email_change_link_key:
        raise InvalidLink()  # a newer change was asked for, or the account moved
    if moved_since(user.id, payload.get("at")):
        raise InvalidLink()  # it moved, and back to the address it had then
    return user, _address(payload, "new")


def confirm_email_change(token: str, client: ClientInfo) -> User:
    """Move the account to the link's address, mail the old one an undo link; commit.

    Raises what `read_change_link` raises, or AddressTaken; nothing changes then.
    """
    user, new_email = read_change_link(token, for_update=True)
    old_email = user.email
    user.email = new_email
    _void_links_to_old_address(user)
    moved_at = utcnow()
    record_event(user.id, SecurityEventKind.EMAIL_CHANGED, client, at=moved_at)
    addresses = {"old": old_email, "new": new_email}
    undo = make_token(
        UNDO_PURPOSE, {"uid": user.id, **addresses, "moved": moved_at.isoformat()}
    )
    mailer.queue_mail(
        old_email,
        _l("Your Vestibule account moved to another address"),
        "email_changed",
        language=mailer.member_language(user),
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


def _void_links_to_old_address(user: User) -> None:
    # A move ends the reset and change links mailed before it, also for when the
    # account comes back to the address they were mailed to. Undo links are
    # judged by the moves they take back, and not-me links by the latest move.
    user.reset_link_key = new_link_key()
    user.email_change_link_key = new_link_key()


class UndoLink(NamedTuple):
    """What an undo link, still good, moves: its account, where to, and which move.

    `moved_at` is when the move it undoes was made (None for links mailed before
    they carried it).
    """

    user: User
    old_email: str
    moved_at: datetime | None


def read_undo_link(token: str, *, for_update: bool = False) -> UndoLink:
    """Return the account an undo link moves back, the address, and its move.

    Good for EMAIL_UNDO_TOKEN_MAX_AGE seconds unless an undo took its move back
    since (its own use included: a link works once), or the account is at that
    address again: whoever moved the account knew its password, so neither a
    password change nor a further move voids it. `for_update` locks the account's
    row. Raises ExpiredLink, or InvalidLink for a link tampered with, used or taken
    back, or whose account was deactivated or left.
    """
    payload = read_token(UNDO_PURPOSE, token, _undo_link_lifetime())
    old_email = _address(payload, "old")
    if "moved" not in payload:  # mailed before links carried their move's time
        user = _account_as_linked(payload, for_update=for_update)
        if user.email != payload.get("new"):
            raise InvalidLink()
        return UndoLink(user, old_email, None)
    try:
        moved_at = datetime.fromisoformat(str(payload["moved"]))
    except ValueError:
        raise InvalidLink() from None
    account = _account(payload.get("uid"), for_update=for_update)
    if (
        account is None
        or not account.is_active
        or moved_at.tzinfo is None
        # an account made later under the same id, as SQLite may give it
        or moved_at < account.created_at
        or _taken_back(account, moved_at)
        or account.email == old_email
    ):
        raise InvalidLink()
    return UndoLink(account, old_email, moved_at)


def _taken_back(user: User, moved_at: datetime) -> bool:
    undo_from, undone_at = user.email_undo_from, user.email_undone_at
    return (
        undo_from is not None
        and undone_at is not None
        and undo_from <= moved_at <= undone_at
    )


def _undo_link_lifetime() -> int:
    seconds: int = current_app.config["EMAIL_UNDO_TOKEN_MAX_AGE"]
    return seconds


def _note_undo(user: User, moved_at: datetime | None) -> None:
    # The moves this undo takes back: from its own to now. When the last undo
    # was recent enough for its void links to be alive still, the span grows to
    # cover that one's too (and the moves in between, which a later undo of an
    # older move takes back anyway).
    now = utcnow()
    undo_from = moved_at or user.created_at  # an old link: every move until now
    recent = now - timedelta(seconds=_undo_link_lifetime())
    last_from, last_undone = user.email_undo_from, user.email_undone_at
    if last_from is not None and last_undone is not None and last_undone >= recent:
        undo_from = min(undo_from, last_from)
    user.email_undo_from, user.email_undone_at = undo_from, now


def undo_email_change(token: str, client: ClientInfo) -> User:
    """Move the account back, lock out whoever moved it, mail a reset link; commit.

    Whoever moved the account knew its password: the password is replaced by one
    nobody knows (which voids every link mailed before, reset links to the other
    address included), every session ends, and the old address gets a reset link;
    the address the account leaves is told.
    Raises what `read_undo_link` raises, or AddressTaken; nothing changes then.
    """
    user, old_email, moved_at = read_undo_link(token, for_update=True)
    left_email = user.email
    end_every_session(user.id)
    user.email = old_email
    _void_links_to_old_address(user)
    _note_undo(user, moved_at)
    lock_password(user)
    record_event(user.id, SecurityEventKind.EMAIL_CHANGE_UNDONE, client)
    queue_reset_link(user)
    mailer.queue_mail(
        left_email,
        _l("Your Vestibule account moved back to its earlier address"),
        "email_change_undone",
        language=mailer.member_language(user),
        user=user,
    )
    try:
        db.session.commit()
    except IntegrityError:  # the old address has an account of its own now
        db.session.rollback()
        raise AddressTaken() from None
    return user
