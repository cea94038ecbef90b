"""Checking who is signing in."""

from __future__ import annotations

from app.extensions import db
from app.models import User
from app.services import ServiceError
from app.services.accounts import find_user_by_email
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


def authenticate(email: str, password: str, client: ClientInfo) -> User:
    """Return the user whose e-mail and password these are, or raise."""
    user = find_user_by_email(email)
    if user is None:
        verify_against_dummy(password)  # the same hash work as for a real account
        raise BadCredentials()
    if not verify_password(user.password_hash, password):
        record_event(user.id, "sign_in_failed", client)
        db.session.commit()
        raise BadCredentials()
    if not user.is_active:
        raise Inactive()
    if not user.is_verified:
        raise Unverified()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user
