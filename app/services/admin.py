"""What operators do to accounts: rights, deactivation, two-factor turned off,
passkeys removed.

The admin area and the CLI share these. Every action on an account is written to
that account's security log with the acting admin (none from the CLI). Their list
of accounts is in user_list.py; lockouts, undelivered mail and unconfirmed sign-ups
are with their subjects (lockouts.py, undelivered_mail.py, sign_up.py), and making
an admin from the command line in admin_accounts.py.
"""

from __future__ import annotations

from typing import Any, cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, and_, func, select, update
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import SecurityEventKind, User
from app.models.base import ID_MAX
from app.services import ServiceError, passkeys, two_factor_setup
from app.services.accounts import lock_password
from app.services.recovery import queue_reset_link
from app.services.security_log import ClientInfo, record_event
from app.services.sessions import end_every_session


class AdminError(ServiceError):
    """An operator's request cannot be carried out; the message says why.

    The admin area's messages are in the page's language; the CLI's own
    (address checks, `create_admin`, `find_user`) stay English.
    """


class UserNotFound(AdminError):
    """No account has this id or address."""


class LastAdmin(AdminError):
    """The action would leave the site without an active admin."""


class OwnAccount(AdminError):
    """An admin asked to act on their own account where the admin area must not.

    Deactivating it or revoking their own rights would lock them out of the admin
    area at once (signed out, or a 403 on the next page); turning off their own
    two-factor with one click would skip the password and code the account page
    asks for. Another admin, or the CLI, does it instead.
    """


class NoPasskeys(AdminError):
    """The account has no passkeys: there is nothing to remove."""


class TwoFactorNotOn(AdminError):
    """The account does not have two-factor sign-in on: there is nothing to turn off."""


def get_user(user_id: int) -> User:
    """Return the account with this id. Raises UserNotFound (any id, even huge)."""
    user = db.session.get(User, user_id) if 0 < user_id <= ID_MAX else None
    if user is None:
        raise UserNotFound("No account has this id.")
    return user


def _change_keeping_an_admin(user: User, **values: bool) -> None:
    """Write `values` to an active admin's row unless no other active admin is left.

    Raises LastAdmin, writing nothing. Two admins revoking each other at once must
    not both pass: the active admins' rows are locked first (FOR UPDATE, on
    PostgreSQL), and the write is one UPDATE that counts the others itself (on
    SQLite, one writer at a time).
    """
    active_admin = and_(User.is_admin.is_(True), User.is_active.is_(True))
    db.session.execute(select(User.id).where(active_admin).with_for_update())
    other = aliased(User)
    others = (
        select(func.count(other.id))
        .where(other.is_admin.is_(True), other.is_active.is_(True), other.id != user.id)
        .scalar_subquery()
    )
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(User)
            .where(User.id == user.id, others > 0)
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise LastAdmin(_("That is the only active admin; make another admin first."))


def _refuse_own_account(user_id: int, actor: User | None, refusal: str) -> None:
    """Raise OwnAccount with `refusal` when `actor` is the account acted on.

    `refusal` is a `lazy_gettext` string, said in the page's language.
    """
    if actor is not None and actor.id == user_id:
        raise OwnAccount(str(refusal))


def deactivate(user_id: int, actor: User | None, client: ClientInfo) -> User:
    """Deactivate an account and end every session of it; commit.

    `actor` is the acting admin (None from the CLI). Raises OwnAccount, changing
    nothing, when `actor` is the account itself; UserNotFound; or LastAdmin for
    the only active admin.
    """
    _refuse_own_account(
        user_id,
        actor,
        _l(
            "You cannot deactivate your own account: it would sign you out for "
            "good. Another admin can; nothing changed."
        ),
    )
    user = get_user(user_id)
    if user.is_admin and user.is_active:
        _change_keeping_an_admin(user, is_active=False)
    user.is_active = False
    end_every_session(user.id)
    _record(user, SecurityEventKind.DEACTIVATED, actor, client)
    db.session.commit()
    return user


def activate(user_id: int, actor: User | None, client: ClientInfo) -> User:
    """Let a deactivated account sign in again; commit. Raises UserNotFound."""
    user = get_user(user_id)
    if not user.is_active:
        user.is_active = True
        _record(user, SecurityEventKind.ACTIVATED, actor, client)
        db.session.commit()
    return user


def make_admin(user_id: int, actor: User | None, client: ClientInfo) -> User:
    """Give an account admin rights; commit. Raises UserNotFound."""
    user = get_user(user_id)
    if not user.is_admin:
        user.is_admin = True
        _record(user, SecurityEventKind.ADMIN_GRANTED, actor, client)
        db.session.commit()
    return user


def revoke_admin(user_id: int, actor: User | None, client: ClientInfo) -> User:
    """Take an account's admin rights away; commit.

    `actor` is the acting admin (None from the CLI). Raises OwnAccount, changing
    nothing, when `actor` is the account itself; UserNotFound; or LastAdmin when
    no other active admin would be left.
    """
    _refuse_own_account(
        user_id,
        actor,
        _l(
            "You cannot revoke your own admin rights: you would lose the admin "
            "area at once. Another admin can; nothing changed."
        ),
    )
    user = get_user(user_id)
    if not user.is_admin:
        return user
    if user.is_active:
        _change_keeping_an_admin(user, is_admin=False)
    user.is_admin = False
    _record(user, SecurityEventKind.ADMIN_REVOKED, actor, client)
    db.session.commit()
    return user


def disable_two_factor(user_id: int, actor: User | None, client: ClientInfo) -> User:
    """Turn an account's two-factor sign-in off for its owner; commit.

    The support path for an owner who cannot pass the second step: they lost
    their app and codes, or someone who knew the password turned it on. Nothing
    else removes it (a password reset leaves it on, or the mailbox would be a
    second factor), so the operator checks who is asking before calling this.
    Forgets the secret and recovery codes (trusted browsers and pending sign-ins
    then hold no more), ends every session of the account, writes the security
    log with the acting admin (None from the CLI) and mails the owner a notice.
    Whoever turned it on to lock the owner out knew the password, so the password
    is replaced with one nobody knows and the account's address is mailed a reset
    link, as undoing an e-mail change does: the owner sets a new one through it.
    Raises OwnAccount when `actor` is the account itself (the account page asks
    for their password and a code instead), UserNotFound, or TwoFactorNotOn when
    it is off, changing nothing.
    """
    _refuse_own_account(
        user_id,
        actor,
        _l(
            "You cannot turn off your own two-factor sign-in here: do it on your "
            "account page, with your password and a code; nothing changed."
        ),
    )
    user = get_user(user_id)
    if user.totp_secret is None:
        raise TwoFactorNotOn(
            _(
                "%(email)s does not have two-factor sign-in on; nothing changed.",
                email=user.email,
            )
        )
    two_factor_setup.switch_off(user, by_operator=True)
    lock_password(user)
    queue_reset_link(user)  # after the lock: a link for the old password is void
    end_every_session(user.id)
    _record(user, SecurityEventKind.TWO_FACTOR_OFF_BY_ADMIN, actor, client)
    db.session.commit()
    return user


def remove_passkeys(user_id: int, actor: User | None, client: ClientInfo) -> User:
    """Remove every passkey of an account for its owner; commit.

    The support path for an owner who lost a device that holds one, or who finds
    one they did not add. The account keeps its password; its owner is mailed,
    and the security log names the acting admin (None from the CLI). Raises
    OwnAccount when `actor` is the account itself (the passkeys page removes the
    member's own), UserNotFound, or NoPasskeys when it has none, changing nothing.
    """
    _refuse_own_account(
        user_id,
        actor,
        _l(
            "You cannot remove your own passkeys here: do it on your passkeys "
            "page; nothing changed."
        ),
    )
    user = get_user(user_id)
    if not passkeys.remove_every_passkey(user, actor, client):
        raise NoPasskeys(
            _("%(email)s has no passkeys; nothing changed.", email=user.email)
        )
    return user


def _record(
    user: User, kind: SecurityEventKind, actor: User | None, client: ClientInfo
) -> None:
    record_event(
        user.id, kind, client, actor_id=actor.id if actor is not None else None
    )
