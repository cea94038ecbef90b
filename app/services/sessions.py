"""Sessions: the sign-in cookie holds a random token, `UserSession` the rest.

A session is a row of `user_sessions`; the browser's sign-in cookie carries the
token whose sha256 names it. Not to be confused with Flask's `session` (the
signed state cookie: CSRF secret, flash messages, a signing-up browser's key) or
`db.session` (the ORM's unit of work).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import ngettext
from sqlalchemy import ColumnElement, CursorResult, bindparam, delete, select, update

from app.extensions import db
from app.models import SecurityEventKind, User, UserSession
from app.models.base import ID_MAX, utcnow
from app.services import ServiceError
from app.services.security_log import ClientInfo, record_event

# Longer than any token start_session makes: anything longer is not looked up.
TOKEN_MAX_LENGTH = 100

# Every signed-in page runs this lookup, so it is built once: building it per
# request cost a tenth of a member's profile page (bench/README.md).
SESSION_BY_TOKEN = (
    select(UserSession, User)
    .join(User, UserSession.user_id == User.id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


class SessionNotFound(ServiceError):
    """The member has no live session with this id."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime(remember: bool) -> timedelta:
    config = current_app.config
    lifetime: timedelta = (
        config["REMEMBER_LIFETIME"] if remember else config["SESSION_LIFETIME"]
    )
    return lifetime


def start_session(
    user: User,
    *,
    remember: bool,
    client: ClientInfo,
    kind: SecurityEventKind = SecurityEventKind.SIGN_IN,
) -> str:
    """Sign the user in on a new session; return the cookie's token.

    The session lasts REMEMBER_LIFETIME with `remember`, else SESSION_LIFETIME
    (and ends sooner when idle for SESSION_IDLE_TIMEOUT). The session, the new
    `last_login_at` and the security log's entry are added; the caller commits
    (app/services/sign_in.py, with the rest of its sign-in). `kind` is the
    security log's word for how it signed in.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            token_hash=_digest(token),
            user_id=user.id,
            remember=remember,
            created_at=now,
            last_seen_at=now,
            expires_at=now + _lifetime(remember),
            ip=client.ip,
            user_agent=client.user_agent,
        )
    )
    user.last_login_at = now
    # at the session's own time, which tells this sign-in from the others
    record_event(user.id, kind, client, at=now)
    return token


def resume_session(token: str) -> tuple[UserSession, User] | None:
    """Return the live session behind a sign-in cookie's token, and its user.

    Returns None for an unknown token. Writes as it reads: a session that expired
    or whose user was deactivated is deleted (None is returned), and a live one
    has its `last_seen_at` moved forward, at most once per SESSION_TOUCH_INTERVAL.
    Either write is committed.
    """
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    row = db.session.execute(SESSION_BY_TOKEN, {"token_hash": _digest(token)}).first()
    if row is None:
        return None
    user_session, user = row.UserSession, row.User
    now = utcnow()
    if _expired(user_session, now) or not user.is_active:
        end_session(user_session)
        return None
    # Touched at most once a minute: a write per view would cost more than the page.
    if now - user_session.last_seen_at > current_app.config["SESSION_TOUCH_INTERVAL"]:
        # An UPDATE's result is a CursorResult, with the count of rows it matched.
        touched = cast(
            CursorResult[Any],
            db.session.execute(
                update(UserSession)
                .where(UserSession.id == user_session.id)
                .values(last_seen_at=now)
            ),
        )
        db.session.commit()
        if touched.rowcount == 0:  # ended meanwhile, by another request
            return None
    return user_session, user


def _expired(user_session: UserSession, now: datetime) -> bool:
    idle_timeout: timedelta = current_app.config["SESSION_IDLE_TIMEOUT"]
    return now >= user_session.expires_at or (
        not user_session.remember and now - user_session.last_seen_at > idle_timeout
    )


def list_sessions(user_id: int) -> list[UserSession]:
    """Return the member's live sessions, the most recently seen first."""
    now = utcnow()
    found = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return [user_session for user_session in found if not _expired(user_session, now)]


def revoke_session(user_id: int, session_id: int, client: ClientInfo) -> None:
    """End one of the member's sessions, log it and commit.

    Raises SessionNotFound, changing nothing, when no session of this member has
    the id (another member's session included).
    """
    user_session = None
    if 0 < session_id <= ID_MAX:
        user_session = db.session.get(UserSession, session_id)
    if user_session is None or user_session.user_id != user_id:
        raise SessionNotFound()
    _delete(user_session)
    record_event(user_id, SecurityEventKind.SESSION_REVOKED, client)
    db.session.commit()


def revoke_other_sessions(keep: UserSession, client: ClientInfo) -> None:
    """End every session of `keep`'s member but `keep`, log it and commit."""
    end_other_sessions(keep.user_id, keep)
    record_event(keep.user_id, SecurityEventKind.OTHER_SESSIONS_REVOKED, client)
    db.session.commit()


def sign_out(user_session: UserSession, client: ClientInfo) -> None:
    """End the session its member signs out of, log it and commit."""
    record_event(user_session.user_id, SecurityEventKind.SIGN_OUT, client)
    end_session(user_session)


def end_session(user_session: UserSession) -> None:
    """End one session for good and commit: its cookie signs nobody in again.

    A session another request ended meanwhile is simply gone.
    """
    _delete(user_session)
    db.session.commit()


def _delete(user_session: UserSession) -> None:
    # A statement rather than `db.session.delete`, which insists on finding the row.
    db.session.execute(delete(UserSession).where(UserSession.id == user_session.id))


def end_other_sessions(user_id: int, keep: UserSession) -> int:
    """End every session of the user except `keep`; the caller commits.

    Returns how many of them were live, as `end_every_session` does.
    """
    return _end(UserSession.user_id == user_id, UserSession.id != keep.id)


def end_every_session(user_id: int) -> int:
    """End every session of the user; the caller commits.

    Returns how many of them were live: an expired session's row stays until its
    cookie comes back, and goes too, uncounted, as nobody was signed in by it.
    """
    return _end(UserSession.user_id == user_id)


def _end(*which: ColumnElement[bool]) -> int:
    now = utcnow()
    ending = db.session.scalars(select(UserSession).where(*which))
    live = sum(not _expired(user_session, now) for user_session in ending)
    db.session.execute(delete(UserSession).where(*which))
    return live


def signed_out_note(count: int, *, other: bool = True) -> str:
    """Tell a member how many sessions a new password ended, for a message to end.

    " 2 other sessions were signed out." (" 1 session was …" with `other` False),
    with its leading space; nothing at all when it ended none. In the language of
    the page being written.
    """
    if count == 0:
        return ""
    if other:
        note = ngettext(
            "%(num)d other session was signed out.",
            "%(num)d other sessions were signed out.",
            count,
        )
    else:
        note = ngettext(
            "%(num)d session was signed out.",
            "%(num)d sessions were signed out.",
            count,
        )
    return f" {note}"
