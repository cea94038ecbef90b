"""Lockout: failed sign-ins for one address slow every further guess down.

After LOCKOUT_THRESHOLD failures in a row, from any IP, the address is locked for
LOCKOUT_FIRST_WAIT, doubling with each further failure up to LOCKOUT_LONGEST_WAIT.
A lockout is a brake on guessing, never a way to keep the owner out: the owner
gets one mail with a single-use "it was me, unlock" link, and a completed
password reset ends it at once. Operators see the addresses counted and clear
one (`list_lockouts`, `clear_lockout`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, case, delete, false, null, select, update

from app.database import upsert
from app.extensions import db
from app.models import SecurityEventKind, SignInLockout, User
from app.models.base import utcnow
from app.services import ServiceError, mailer
from app.services.email_address import normalize_email
from app.services.security_log import ClientInfo, record_event
from app.services.tokens import (
    InvalidLink,
    last_move,
    make_token,
    password_fingerprint,
    read_token,
)

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


def record_failure(
    email: str,
    owner_id: int | None,
    client: ClientInfo,
    *,
    password_known: bool = False,
) -> None:
    """Count a failed sign-in for the address; lock it once there are too many.

    `owner_id` is the account with the address, if any: it gets the lockout in its
    security log and one mail per lockout. `password_known` says the failure was
    a wrong second-step code after a right password: the mail then tells the owner
    to change it rather than offering to unlock. The caller commits.
    """
    now = utcnow()
    failures = _count_failure(email, now)
    if failures < current_app.config["LOCKOUT_THRESHOLD"]:
        return
    db.session.execute(
        update(SignInLockout)
        .where(SignInLockout.email == email)
        .values(locked_until=now + _wait_after(failures))
    )
    if owner_id is None:
        return
    # One mail per lockout, however many failures arrive at once.
    unlock_key = secrets.token_hex(16)
    first = cast(
        CursorResult[Any],
        db.session.execute(
            update(SignInLockout)
            .where(
                SignInLockout.email == email,
                SignInLockout.owner_notified.is_(False),
            )
            .values(owner_notified=True, unlock_key=unlock_key)
        ),
    )
    if first.rowcount == 1:
        record_event(owner_id, SecurityEventKind.LOCKOUT, client)
        owner = db.session.get_one(User, owner_id)
        _queue_lockout_mail(owner, failures, unlock_key, password_known)


def _count_failure(email: str, now: datetime) -> int:
    """Add one failure to the address's count; return the count.

    One INSERT ... ON CONFLICT DO UPDATE, in each database's own dialect: reading
    the row, then inserting it when there was none, let two failures arriving at
    once both insert (a 500) or count once. A count whose last failure is older
    than LOCKOUT_FORGET_AFTER starts again from one.
    """
    forgotten = SignInLockout.last_failure_at < (
        now - current_app.config["LOCKOUT_FORGET_AFTER"]
    )
    statement = (
        upsert(db.session, SignInLockout)
        .values(
            email=email,
            failures=1,
            last_failure_at=now,
            locked_until=None,
            owner_notified=False,
            unlock_key="",
        )
        .on_conflict_do_update(
            index_elements=[SignInLockout.email],
            # SET sees the row as it was: `forgotten` reads its last failure
            set_={
                "failures": case((forgotten, 1), else_=SignInLockout.failures + 1),
                "locked_until": case(
                    (forgotten, null()), else_=SignInLockout.locked_until
                ),
                "owner_notified": case(
                    (forgotten, false()), else_=SignInLockout.owner_notified
                ),
                "last_failure_at": now,
            },
        )
        .returning(SignInLockout.failures)
    )
    failures: int = db.session.execute(statement).scalar_one()
    return failures


def _queue_lockout_mail(
    owner: User, failures: int, unlock_key: str, password_known: bool
) -> None:
    # The key is this lockout's (a newer lockout's mail carries another); the
    # owner, its latest move and its password's fingerprint bind the link to the
    # account at that address with that password.
    payload = {"email": owner.email, "key": unlock_key, "uid": owner.id}
    token = make_token(
        UNLOCK_PURPOSE,
        {
            **payload,
            "moves": last_move(owner.id),
            "pw": password_fingerprint(owner),
        },
    )
    mailer.queue_mail(
        owner.email,
        _l("Sign-in to your account is paused"),
        "lockout",
        language=mailer.member_language(owner),
        failures=failures,
        password_known=password_known,
        unlock_link=mailer.link("auth.unlock", token=token),
        forgot_link=mailer.link("auth.forgot"),
    )


def end_lockout(email: str) -> None:
    """Forget the address's failed sign-ins and any lockout; the caller commits."""
    db.session.execute(delete(SignInLockout).where(SignInLockout.email == email))


def read_unlock_link(token: str) -> SignInLockout:
    """Return the lockout a genuine, unused unlock link ends, or raise InvalidLink.

    ExpiredLink (an InvalidLink) for a link older than UNLOCK_TOKEN_MAX_AGE seconds.
    InvalidLink too for a link of an earlier lockout, or whose account has left
    the address (also when it came back since) or changed its password.
    """
    max_age: int = current_app.config["UNLOCK_TOKEN_MAX_AGE"]
    payload = read_token(UNLOCK_PURPOSE, token, max_age)
    lockout = db.session.get(SignInLockout, payload.get("email"))
    if (
        lockout is None
        or not lockout.unlock_key
        or not secrets.compare_digest(lockout.unlock_key, str(payload.get("key")))
    ):
        raise InvalidLink()
    owner = _owner(lockout.email)
    if (
        owner is None
        or owner.id != payload.get("uid")
        or payload.get("moves") != last_move(owner.id)
        or payload.get("pw") != password_fingerprint(owner)
    ):
        raise InvalidLink()
    return lockout


def _owner(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == email)).first()


def unlock(token: str, client: ClientInfo) -> str:
    """End the lockout named by an unlock link; return its address.

    Raises what `read_unlock_link` raises: InvalidLink (or ExpiredLink) for a link
    that is tampered with, too old, used before or void.
    """
    lockout = read_unlock_link(token)
    email = lockout.email
    owner = _owner(email)
    end_lockout(email)
    if owner is not None:
        record_event(owner.id, SecurityEventKind.UNLOCK, client)
    db.session.commit()
    return email


# -- for operators ----------------------------------------------------------------


@dataclass(frozen=True)
class LockedAddress:
    """An address whose failed sign-ins are counted, and the account that has it."""

    lockout: SignInLockout
    user: User | None


def list_lockouts() -> list[LockedAddress]:
    """Return the addresses locked now, then those counting failures, worst first."""
    rows = db.session.execute(
        select(SignInLockout, User)
        .outerjoin(User, User.email == SignInLockout.email)
        .order_by(
            SignInLockout.locked_until.desc().nulls_last(),
            SignInLockout.failures.desc(),
        )
        .limit(200)
    )
    return [LockedAddress(lockout, user) for lockout, user in rows]


def clear_lockout(email: str, actor: User | None, client: ClientInfo) -> bool:
    """Forget an address's failed sign-ins and lockout; commit.

    Returns False when there was nothing to clear. The account with the address,
    if any, gets the event in its security log, with `actor`, the acting admin.
    """
    email = normalize_email(email)
    result = cast(
        CursorResult[Any],
        db.session.execute(delete(SignInLockout).where(SignInLockout.email == email)),
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    owner = _owner(email)
    if owner is not None:
        record_event(
            owner.id,
            SecurityEventKind.LOCKOUT_CLEARED,
            client,
            actor_id=actor.id if actor is not None else None,
        )
    db.session.commit()
    return True
