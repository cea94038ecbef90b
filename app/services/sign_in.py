"""Signing in: the password, the second step when one is needed, then a session.

Every way in ends in `open_session`, inside one transaction that the function
calling it commits once: the session and its security-log entry, the alert mail
of a new browser, the browser's time zone and the end of the address's failure
count. A failed sign-in commits its failure record (the count, the log) before
it raises. A passkey is another way in (app/services/passkey_sign_in.py);
federated sign-in will be one more.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NoReturn

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.metrics import count_sign_in_failure_without_account
from app.models import SecurityEventKind, SignInLockout, User
from app.models.base import utcnow
from app.services import (
    ServiceError,
    accounts,
    lockouts,
    sessions,
    sign_in_alerts,
    two_factor,
)
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


@dataclass(frozen=True)
class SignedIn:
    """A sign-in that opened a session: what the view sets in cookies and says.

    `token` is the new sign-in cookie's value, kept for REMEMBER_LIFETIME with
    `remember`, else for the browser's life. After a second step,
    `used_recovery_code` says a recovery code passed it and `recovery_codes_left`
    how many the member has left (0 otherwise), and `trusted_browser` is the
    trusted-browser cookie's value when the member asked to trust this browser.
    """

    user: User
    token: str
    remember: bool
    used_recovery_code: bool = False
    recovery_codes_left: int = 0
    trusted_browser: str | None = None


@dataclass(frozen=True)
class SecondStepNeeded:
    """A right password of an account with two-factor on: its code comes next.

    What the browser keeps to resume it (`resume_second_step`): the account, its
    password's fingerprint, its last sign-in (ISO 8601, None before the first:
    any sign-in since ends this one), when the password was given (Unix time, s),
    and what the sign-in asked for ("remember me", the browser's IANA zone or "").
    """

    user: User
    password: str
    last_sign_in: str | None
    started_at: int
    remember: bool
    time_zone: str


def sign_in(
    email: str,
    password: str,
    client: ClientInfo,
    *,
    remember: bool,
    time_zone: str,
    trusted_browser: str | None,
) -> SignedIn | SecondStepNeeded:
    """Check the e-mail and password; open a session, or ask for the second step.

    `trusted_browser` is the value of the browser's trusted-browser cookie, if
    any: for an account with two-factor on, a cookie that holds skips the second
    step, else SecondStepNeeded is returned and no session is opened. Commits once.
    Raises LockedOut (before any password is checked) while the address is
    locked, BadCredentials, Unverified or Inactive. Every address, with or without
    an account, costs one password hash and counts its failures the same way.
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
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.totp_secret is not None and not two_factor.is_trusted_browser(
        user, trusted_browser
    ):
        # the failure count stays until the second step passes
        db.session.commit()  # a new hash, which the pending step's fingerprint names
        return SecondStepNeeded(
            user,
            password_fingerprint(user),
            _moment(user.last_login_at),
            int(utcnow().timestamp()),
            remember,
            time_zone,
        )
    _end_failures(user, failures)
    signed_in = open_session(user, client, remember=remember, time_zone=time_zone)
    db.session.commit()
    return signed_in


def _end_failures(user: User, failures: SignInLockout | None) -> None:
    if user.totp_secret is not None:  # a trusted browser, past the second step
        lockouts.end_lockout(user.email)
    elif failures is not None:
        db.session.delete(failures)


def resume_second_step(
    user_id: int, password: str, last_sign_in: str | None, started_at: int
) -> User | None:
    """Return the account a sign-in waiting for its second step may still finish.

    Takes what SecondStepNeeded held. None unless it started at most
    TWO_FACTOR_STEP_MAX_AGE seconds ago and the account exists, is active, has
    two-factor on, still has that password and has not signed in since.
    """
    max_age: int = current_app.config["TWO_FACTOR_STEP_MAX_AGE"]
    if utcnow().timestamp() - started_at > max_age:
        return None
    user = db.session.get(User, user_id)
    if (
        user is None
        or not user.is_active
        or user.totp_secret is None
        or not secrets.compare_digest(password_fingerprint(user), password)
        or _moment(user.last_login_at) != last_sign_in
    ):
        return None
    return user


def finish_second_step(
    user: User,
    code: str,
    client: ClientInfo,
    *,
    remember: bool,
    time_zone: str,
    trust: bool = False,
) -> SignedIn:
    """Check the second step of a sign-in whose password was right; open a session.

    `code` is the app's code or a recovery code. A right one ends the address's
    count of failed sign-ins and opens the session, committed once; with `trust`
    the result carries a trusted-browser cookie's value. A wrong one adds to the
    count, as a wrong password does (committed), so guessing codes meets the same
    lockout. Raises LockedOut (checking nothing) while the address is locked,
    ReusedCode or WrongCode.
    """
    lockouts.check_lockout(user.email)
    try:
        used_recovery_code = two_factor.check_code(user, code, client)
    except two_factor.WrongCode:  # nothing was written
        record_event(user.id, SecurityEventKind.TWO_FACTOR_FAILED, client)
        lockouts.record_failure(user.email, user.id, client, password_known=True)
        db.session.commit()
        raise
    lockouts.end_lockout(user.email)
    signed_in = open_session(user, client, remember=remember, time_zone=time_zone)
    left = two_factor.recovery_codes_left(user.id) if used_recovery_code else 0
    db.session.commit()
    return replace(
        signed_in,
        used_recovery_code=used_recovery_code,
        recovery_codes_left=left,
        trusted_browser=two_factor.trusted_browser_token(user) if trust else None,
    )


def sign_in_new_member(user: User, client: ClientInfo) -> SignedIn:
    """Open a session for a member whose verify link just made the account; commit.

    The session ends with the browser, as without "remember me".
    """
    signed_in = open_session(user, client, remember=False, time_zone="")
    db.session.commit()
    return signed_in


def open_session(
    user: User,
    client: ClientInfo,
    *,
    remember: bool,
    time_zone: str,
    kind: SecurityEventKind = SecurityEventKind.SIGN_IN,
) -> SignedIn:
    """Open a session for a member who proved who they are; the caller commits.

    `time_zone` is the browser's IANA zone, or "": the member's times follow it
    unless they chose one. A browser and IP pair new to the account mails its
    owner an alert. The session and the security log's entry are added, not
    committed: the caller commits them with the rest of its sign-in. `kind` is
    the security log's word for how the member signed in.
    """
    accounts.note_browser_time_zone(user, time_zone)
    sign_in_alerts.alert_if_new(user, client)  # before the sign-in is logged
    token = sessions.start_session(user, remember=remember, client=client, kind=kind)
    return SignedIn(user, token, remember)


def _moment(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


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
