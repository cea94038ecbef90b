"""Checking who is signing in."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update

from app.extensions import db
from app.models import User
from app.services import ServiceError
from app.services.accounts import normalize_email
from app.services.passwords import (
    hash_password,
    needs_rehash,
    verify_against_dummy,
    verify_password,
)
from app.services.security_log import ClientInfo, record_event


class BadCredentials(ServiceError):
    """No account has this e-mail and password."""


class Unverified(ServiceError):
    """The password is right but the e-mail address is not verified yet."""


class Inactive(ServiceError):
    """The password is right but an admin deactivated the account."""


# Built once, and read as a plain row: every sign-in runs it, and the checks need
# four columns, not a User.
_USERS = User.__table__
_CREDENTIALS = select(
    _USERS.c.id,
    _USERS.c.password_hash,
    _USERS.c.is_active,
    _USERS.c.email_verified_at,
).where(_USERS.c.email == bindparam("email"))
_REHASH = (
    update(_USERS)
    .where(_USERS.c.id == bindparam("user_id"))
    .values(password_hash=bindparam("password_hash"))
)


def authenticate(email: str, password: str, client: ClientInfo) -> int:
    """Return the id of the account with this e-mail and password, or raise."""
    connection = db.session.connection()
    email = normalize_email(email)
    user = connection.execute(_CREDENTIALS, {"email": email}).first()
    if user is None:
        verify_against_dummy(password)  # the same hash work as for a real account
        raise BadCredentials()
    if not verify_password(user.password_hash, password):
        record_event(user.id, "sign_in_failed", client)
        db.session.commit()
        raise BadCredentials()
    if not user.is_active:
        raise Inactive()
    if user.email_verified_at is None:
        raise Unverified()
    if needs_rehash(user.password_hash):
        new_hash = hash_password(password)
        connection.execute(_REHASH, {"user_id": user.id, "password_hash": new_hash})
        db.session.commit()
    user_id: int = user.id
    return user_id
