"""Lockout: failed sign-ins for one address slow every further guess down.

After LOCKOUT_THRESHOLD failures in a row, from any IP, the address is locked for
LOCKOUT_FIRST_WAIT, doubling with each further failure up to LOCKOUT_LONGEST_WAIT.
A lockout is a brake on guessing, never a way to keep the owner out: the owner
gets one mail with a single-use "it was me, unlock" link, and a completed
password reset ends it at once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from app.extensions import db
from app.models import SecurityEventKind, SignInLockout, User
from app.models.base import utcnow
from app.services import ServiceError, mailer
from app.services.security_log import ClientInfo, record_event
from app.services.tokens import InvalidLink, make_token, read_token

UNLOCK_PURPOSE = "unlock-sign-in"


class LockedOut(ServiceError):
    """The address is locked after too many failed sign-ins; `wait` says how long."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(wait)
        self.wait = wait


def check_lockout(email: str) -> SignInLockout | None:
    """Return the (canonical) address's failure count, if it has one.

    Raises LockedOut, whose `wait` says how long, while the address is locked.
    """
    lockout = db.session.get(SignInLockout, email)
    if lockout is not None and lockout.locked_until is not None:
        wait = lockout.locked_until - utcnow()
        if wait > timedelta(0):
            raise LockedOut(wait)
    return lockout


def _wait_after(failures: int) -> timedelta:
    config = current_app.config
    over = failures - config["LOCKOUT_THRESHOLD"]
    first: timedelta = config["LOCKOUT_FIRST_WAIT"]
    longest: timedelta = config["LOCKOUT_LONGEST_WAIT"]
    wait: timedelta = min(first * 2 ** min(over, 20), longest)
    return wait


def record_failure(email: str, owner_id: int | None, client: ClientInfo) -> None:
    """Count a failed sign-in for the address; lock it once there are too many.

    `owner_id` is the account with the address, if any: it gets the lockout in its
    security log and one mail per lockout. The caller commits.
    """
    now = utcnow()
    lockout = db.session.get(SignInLockout, email)
    if lockout is None:
        lockout = SignInLockout(email=email, failures=0, owner_notified=False)
        db.session.add(lockout)
    elif now - lockout.last_failure_at > current_app.config["LOCKOUT_FORGET_AFTER"]:
        lockout.failures = 0
        lockout.locked_until = None
        lockout.owner_notified = False
    lockout.failures += 1
    lockout.last_failure_at = now
    if lockout.failures < current_app.config["LOCKOUT_THRESHOLD"]:
        return
    lockout.locked_until = now + _wait_after(lockout.failures)
    if owner_id is not None and not lockout.owner_notified:
        lockout.owner_notified = True
        lockout.unlock_key = secrets.token_hex(16)
        record_event(owner_id, SecurityEventKind.LOCKOUT, client)
        _queue_lockout_mail(lockout)


def _queue_lockout_mail(lockout: SignInLockout) -> None:
    token = make_token(
        UNLOCK_PURPOSE, {"email": lockout.email, "key": lockout.unlock_key}
    )
    mailer.queue_mail(
        lockout.email,
        "Sign-in to your account is paused",
        "lockout",
        failures=lockout.failures,
        unlock_link=mailer.link("auth.unlock", token=token),
        forgot_link=mailer.link("auth.forgot"),
    )


def end_lockout(email: str) -> None:
    """Forget the address's failed sign-ins and any lockout; the caller commits."""
    db.session.execute(delete(SignInLockout).where(SignInLockout.email == email))


def read_unlock_link(token: str, max_age: int) -> SignInLockout:
    """Return the lockout a genuine, unused unlock link ends, or raise InvalidLink.

    `max_age` is in seconds; ExpiredLink (an InvalidLink) for an older link.
    """
    payload = read_token(UNLOCK_PURPOSE, token, max_age)
    lockout = db.session.get(SignInLockout, payload.get("email"))
    if (
        lockout is None
        or not lockout.unlock_key
        or not secrets.compare_digest(lockout.unlock_key, str(payload.get("key")))
    ):
        raise InvalidLink()
    return lockout


def unlock(token: str, max_age: int, client: ClientInfo) -> str:
    """End the lockout named by an unlock link; return its address.

    Raises InvalidLink (or ExpiredLink) for a link that is tampered with, too old
    or used before.
    """
    lockout = read_unlock_link(token, max_age)
    email = lockout.email
    owner = db.session.scalars(select(User).where(User.email == email)).first()
    end_lockout(email)
    if owner is not None:
        record_event(owner.id, SecurityEventKind.UNLOCK, client)
    db.session.commit()
    return email
