"""A member's passkeys: the list, names, removal, and the errors of every ceremony.

A passkey is a WebAuthn credential the member's device keeps; the site stores its
public half (app/models/passkey.py). Making and checking them is in
passkey_ceremonies.py, their challenges and the relying party in
passkey_challenges.py.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from webauthn.helpers.structs import (
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
)

from app.extensions import db
from app.models import Passkey, SecurityEventKind, User
from app.models.base import ID_MAX
from app.models.passkey import PASSKEY_NAME_MAX
from app.services import ServiceError, mailer
from app.services.security_log import ClientInfo, record_event


class PasskeyError(ServiceError):
    """A passkey ceremony or change is refused; the message says why."""


class ChallengeGone(PasskeyError):
    """No challenge of this browser waits for this ceremony, or it expired."""


class PasskeyRefused(PasskeyError):
    """The answer does not hold: wrong site, unverified user, bad signature..."""


class UnknownPasskey(PasskeyError):
    """No account has this passkey, or not the account it claims or must be."""


class ClonedPasskey(PasskeyError):
    """The passkey's signature counter went back: a copy of it may be in use."""


class PasskeyNotFound(PasskeyError):
    """The member has no passkey of this id."""


class InvalidPasskeyName(PasskeyError):
    """The name is empty or too long."""


CHALLENGE_GONE = _l(
    "This passkey request expired or was already used. Please try again."
)
REFUSED = _l(
    "Your passkey's answer could not be checked. Please try again; if it keeps "
    "failing, sign in with your password."
)
# the same refusal while adding one: the member is signed in, and nothing was added
NOT_ADDED = _l(
    "Your passkey's answer could not be checked. Please try again; nothing was "
    "added to your account."
)
UNKNOWN = _l(
    "This passkey does not belong to an account here, or not to this account. It "
    "may have been removed; sign in with your password."
)
ALREADY_ADDED = _l("This passkey is already added to an account here.")
CLONED = _l(
    "This passkey was refused: its counter went back, which happens when a copy "
    "of it is used. Sign in another way and check your passkeys."
)


# -- the member's passkeys ------------------------------------------------------------


def list_passkeys(user_id: int) -> list[Passkey]:
    """Return the member's passkeys, oldest first."""
    return list(
        db.session.scalars(
            select(Passkey)
            .where(Passkey.user_id == user_id)
            .order_by(Passkey.created_at, Passkey.id)
        )
    )


def count_passkeys(user_id: int) -> int:
    """Return how many passkeys the member has."""
    return (
        db.session.scalar(
            select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
        )
        or 0
    )


def get_passkey(user_id: int, passkey_id: int) -> Passkey:
    """Return the member's passkey of this id; raise PasskeyNotFound otherwise."""
    # a number past the column's range names no row (and would fail the query)
    passkey = db.session.get(Passkey, passkey_id) if 0 < passkey_id <= ID_MAX else None
    if passkey is None or passkey.user_id != user_id:
        raise PasskeyNotFound(
            _l("That passkey is not one of yours; it may have been removed already.")
        )
    return passkey


def clean_passkey_name(name: str) -> str:
    """Return the name as stored: whitespace runs made one space, ends trimmed.

    Raises InvalidPasskeyName when nothing is left or it is longer than
    PASSKEY_NAME_MAX characters.
    """
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidPasskeyName(_l("Give the passkey a name."))
    if len(cleaned) > PASSKEY_NAME_MAX:
        raise InvalidPasskeyName(
            _l(
                "A passkey's name can be at most %(max)d characters.",
                max=PASSKEY_NAME_MAX,
            )
        )
    return cleaned


def rename_passkey(user_id: int, passkey_id: int, name: str) -> Passkey:
    """Give the member's passkey a new name; commit. Raises PasskeyNotFound or
    InvalidPasskeyName, changing nothing."""
    passkey = get_passkey(user_id, passkey_id)
    passkey.name = clean_passkey_name(name)
    db.session.commit()
    return passkey


def remove_passkey(
    user_id: int,
    passkey_id: int,
    client: ClientInfo,
    *,
    actor: User | None = None,
) -> Passkey:
    """Remove one of the member's passkeys, log it and mail the owner; commit.

    `actor` is the admin who removed it (None: the member). The account keeps its
    password, so a passkey is never the last way to sign in. Raises
    PasskeyNotFound, changing nothing.
    """
    passkey = get_passkey(user_id, passkey_id)
    user = db.session.get_one(User, user_id)
    db.session.delete(passkey)
    record_event(
        user_id,
        SecurityEventKind.PASSKEY_REMOVED_BY_ADMIN
        if actor is not None
        else SecurityEventKind.PASSKEY_REMOVED,
        client,
        actor_id=actor.id if actor is not None else None,
    )
    mail_change(user, [passkey.name], added=False, by_operator=actor is not None)
    db.session.commit()
    return passkey


def remove_every_passkey(user: User, actor: User | None, client: ClientInfo) -> int:
    """Remove all of an account's passkeys for an operator; log, mail; commit.

    Returns how many were removed (0 changes, logs and mails nothing).
    """
    names = [passkey.name for passkey in list_passkeys(user.id)]
    if not names:
        return 0
    db.session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    record_event(
        user.id,
        SecurityEventKind.PASSKEY_REMOVED_BY_ADMIN,
        client,
        actor_id=actor.id if actor is not None else None,
    )
    mail_change(user, names, added=False, by_operator=True)
    db.session.commit()
    return len(names)


def remove_passkeys_added_since(
    user: User, moment: datetime, client: ClientInfo
) -> list[str]:
    """Remove the passkeys `user` added at `moment` (UTC) or later; the caller commits.

    For a sign-in the owner reported as not theirs: whoever signed in may have
    added a passkey of their own. Each is logged and the owner mailed their names.
    Returns the names removed.
    """
    added = [p for p in list_passkeys(user.id) if p.created_at >= moment]
    for passkey in added:
        db.session.delete(passkey)
    for passkey in added:
        record_event(user.id, SecurityEventKind.PASSKEY_REMOVED, client)
        mail_change(user, [passkey.name], added=False, by_operator=False)
    return [passkey.name for passkey in added]


def mail_change(
    user: User, names: list[str], *, added: bool, by_operator: bool
) -> None:
    """Queue the notice of passkeys added or removed (`names`); the caller commits."""
    if added:
        subject = _l("A passkey was added to your account")
    elif len(names) == 1:
        subject = _l("A passkey was removed from your account")
    else:
        subject = _l("Passkeys were removed from your account")
    mailer.queue_mail(
        user.email,
        subject,
        "passkey_changed",
        language=mailer.member_language(user),
        name=user.name,
        passkeys=names,
        added=added,
        by_operator=by_operator,
        passkeys_link=mailer.link("account.passkeys"),
        forgot_link=mailer.link("auth.forgot"),
    )


def descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    known = {transport.value for transport in AuthenticatorTransport}
    return PublicKeyCredentialDescriptor(
        id=passkey.credential_id,
        transports=[
            AuthenticatorTransport(value)
            for value in passkey.transports.split(",")
            if value in known
        ],
    )
