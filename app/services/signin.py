"""Checking who is signing in."""

from __future__ import annotations

import secrets
from typing import NoReturn

from sqlalchemy import select

from app.extensions import db
from app.metrics import count_sign_in_failure_without_account
from app.models import SecurityEventKind, User
from app.services import ServiceError, lockouts
from app.services.email_address import normalize_email
from app.services.passwords import (
    hash_password,
    needs_rehash,
    verify_against_dummy,
    verify_password,
)
from app.services.security_log import ClientInfo, record_event
from app.services.sign_up import newest_claim
from app.services.tokens import password_fingerprint


class BadCredentials(ServiceError):
    """No account has this e-mail and password."""


class Unverified(ServiceError):
    """The password is a sign-up's whose link was not opened yet: nobody signs in."""


class Inactive(ServiceError):
    """The password is right but an admin deactivated the account."""


def authenticate(email: str, password: str, client: ClientInfo) -> User:
    """Return the account with this e-mail and password, or raise.

    Raises LockedOut (before any password is checked) while the address is
    locked, BadCredentials, Unverified or Inactive. Every address, with or without
    an account, costs one password hash and counts its failures the same way.
    A right password ends the count of failures, unless the account has a second
    step to pass (two_factor.finish_sign_in ends it then).
    """
    email = normalize_email(email)
    failures = lockouts.check_lockout(email)
    user = db.session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        _check_sign_up_password(email, password, client)
    elif not verify_password(user.password_hash, password):
        _refuse_wrong_password(user, password, client)
    if not user.is_active:
        raise Inactive()
    if user.email_verified_at is None:
        raise Unverified()
    if failures is not None and user.totp_secret is None:
        db.session.delete(failures)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    return user


def pending_user(user_id: int, fingerprint: str) -> User | None:
    """Return the account a sign-in waiting for its second step may still finish.

    None unless the account exists, is active, has two-factor on and still has
    the password whose `password_fingerprint` the pending sign-in carries.
    """
    user = db.session.get(User, user_id)
    if (
        user is None
        or not user.is_active
        or user.totp_secret is None
        or not secrets.compare_digest(password_fingerprint(user), fingerprint)
    ):
        return None
    return user


def _refuse_wrong_password(user: User, password: str, client: ClientInfo) -> NoReturn:
    """Raise BadCredentials, or Unverified for the password of a sign-up.

    Someone who signs up with a held address and then signs in with the password
    they chose must get the answer an address nobody holds would give (Unverified,
    uncounted, nothing written, so no slower), or the pair would tell them the
    address has an account.
    """
    claim = newest_claim(user.email)
    if claim is not None and verify_password(claim.password_hash, password):
        raise Unverified()  # writing nothing, as for a free address
    record_event(user.id, SecurityEventKind.SIGN_IN_FAILED, client)
    lockouts.record_failure(user.email, user.id, client)
    db.session.commit()
    raise BadCredentials()


def _check_sign_up_password(email: str, password: str, client: ClientInfo) -> NoReturn:
    """Raise Unverified for the password of the address's newest sign-up, else fail.

    Hashes as `_refuse_wrong_password` does: once for the account there is not,
    once more for a sign-up there is.
    """
    claim = newest_claim(email)
    verify_against_dummy(password)
    if claim is not None and verify_password(claim.password_hash, password):
        raise Unverified()
    lockouts.record_failure(email, None, client)
    db.session.commit()
    # the security log has no account to hold it: counted here
    count_sign_in_failure_without_account()
    raise BadCredentials()
