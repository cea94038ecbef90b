"""Server-side sessions: the cookie holds a random token, the table holds the rest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import User, UserSession
from app.models.base import utcnow
from app.services.security_log import ClientInfo, record_event


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expiry(user_session: UserSession) -> datetime:
    config = current_app.config
    lifetime: timedelta = (
        config["REMEMBER_LIFETIME"]
        if user_session.remember
        else config["SESSION_LIFETIME"]
    )
    return user_session.created_at + lifetime


def start_session(user: User, *, remember: bool, client: ClientInfo) -> str:
    """Sign the user in on a new session; return the cookie token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    user_session = UserSession(
        token_hash=_digest(token),
        user_id=user.id,
        remember=remember,
        created_at=now,
        last_seen_at=now,
        ip=client.ip,
        user_agent=client.user_agent[:255],
    )
    user_session.expires_at = _expiry(user_session)
    user.last_login_at = now
    db.session.add(user_session)
    record_event(user.id, "sign_in", client)
    db.session.commit()
    return token


def find_session(token: str) -> UserSession | None:
    """Return the live session behind a cookie token, with its user loaded."""
    if not token or len(token) > 100:
        return None
    user_session = db.session.scalars(
        select(UserSession)
        .join(UserSession.user)
        .options(contains_eager(UserSession.user))
        .where(UserSession.token_hash == _digest(token))
    ).first()
    if user_session is None:
        return None
    user = user_session.user
    now = utcnow()
    idle_timeout = current_app.config["SESSION_IDLE_TIMEOUT"]
    expired = now >= user_session.expires_at or (
        not user_session.remember and now - user_session.last_seen_at > idle_timeout
    )
    if expired or not user.is_active:
        db.session.delete(user_session)
        db.session.commit()
        return None
    # Touch at most once a minute: a write per page view would cost more than the page.
    if now - user_session.last_seen_at > current_app.config["SESSION_TOUCH_INTERVAL"]:
        user_session.last_seen_at = now
        db.session.commit()
    return user_session


def end_session(user_session: UserSession) -> None:
    """End one session for good: its cookie signs nobody in again."""
    db.session.execute(delete(UserSession).where(UserSession.id == user_session.id))
    db.session.commit()


def end_other_sessions(user: User, keep: UserSession | None = None) -> None:
    """End every session of the user but `keep`; the caller commits."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    db.session.execute(statement)
