"""Server-side sessions: the cookie holds a random token, the table holds the rest.

Every signed-in page looks its session up, so that lookup and the sign-in's writes
are prebuilt Core statements: building them and loading ORM objects cost three times
what the database spends. The lookup reads the user as a plain `SignedInUser`
(never the password hash); a page that changes the account loads the `User` itself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select, update

from app.extensions import db
from app.models import User, UserSession
from app.models.base import utcnow
from app.services.reads import read_connection
from app.services.security_log import ClientInfo, record_event


@dataclass(frozen=True)
class ActiveSession:
    """The live session behind this request's cookie."""

    id: int
    user_id: int
    remember: bool
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """Who is signed in, as read with the session: for pages and permission checks."""

    id: int
    email: str
    name: str
    bio: str
    is_active: bool
    is_admin: bool
    is_listed: bool
    email_verified_at: datetime | None
    created_at: datetime

    # Flask-Login's user protocol (`is_active` is a field above)
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


_SESSIONS = UserSession.__table__
_USERS = User.__table__
# The lookup reads exactly the records' fields, in their order.
_SESSION_FIELDS = tuple(field.name for field in fields(ActiveSession))
_USER_FIELDS = tuple(field.name for field in fields(SignedInUser))

# The session and its user in one statement.
_LOOKUP = (
    select(
        *(_SESSIONS.c[name].label(f"session_{name}") for name in _SESSION_FIELDS),
        *(_USERS.c[name] for name in _USER_FIELDS),
    )
    .join_from(_SESSIONS, _USERS, _SESSIONS.c.user_id == _USERS.c.id)
    .where(_SESSIONS.c.token_hash == bindparam("token_hash"))
)
_INSERT = insert(_SESSIONS)
_TOUCH = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("now"))
)
_DELETE = delete(_SESSIONS).where(_SESSIONS.c.id == bindparam("session_id"))
_LAST_LOGIN = (
    update(_USERS)
    .where(_USERS.c.id == bindparam("user_id"))
    .values(last_login_at=bindparam("now"))
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime(remember: bool) -> timedelta:
    config = current_app.config
    lifetime: timedelta = (
        config["REMEMBER_LIFETIME"] if remember else config["SESSION_LIFETIME"]
    )
    return lifetime


def start_session(user_id: int, *, remember: bool, client: ClientInfo) -> str:
    """Sign the user in on a new session; return the cookie token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    connection = db.session.connection()
    connection.execute(
        _INSERT,
        {
            "token_hash": _digest(token),
            "user_id": user_id,
            "remember": remember,
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + _lifetime(remember),
            "ip": client.ip,
            "user_agent": client.user_agent[:255],
        },
    )
    connection.execute(_LAST_LOGIN, {"user_id": user_id, "now": now})
    record_event(user_id, "sign_in", client)
    db.session.commit()
    return token


def find_session(token: str) -> tuple[ActiveSession, SignedInUser] | None:
    """Return the live session behind a cookie token, and its user."""
    if not token or len(token) > 100:
        return None
    row = read_connection().execute(_LOOKUP, {"token_hash": _digest(token)}).first()
    if row is None:
        return None
    active = ActiveSession(*row[: len(_SESSION_FIELDS)])
    now = utcnow()
    idle_timeout = current_app.config["SESSION_IDLE_TIMEOUT"]
    expired = now >= active.expires_at or (
        not active.remember and now - active.last_seen_at > idle_timeout
    )
    user = SignedInUser(*row[len(_SESSION_FIELDS) :])
    if expired or not user.is_active:
        end_session(active)
        return None
    # Touch at most once a minute: a write per page view would cost more than the page.
    if now - active.last_seen_at > current_app.config["SESSION_TOUCH_INTERVAL"]:
        db.session.execute(_TOUCH, {"session_id": active.id, "now": now})
        db.session.commit()
    return active, user


def end_session(user_session: ActiveSession) -> None:
    """End one session for good: its cookie signs nobody in again."""
    db.session.execute(_DELETE, {"session_id": user_session.id})
    db.session.commit()


def end_other_sessions(user: User, keep: ActiveSession | None = None) -> None:
    """End every session of the user but `keep`; the caller commits."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    db.session.execute(statement)
