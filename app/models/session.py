"""A session: one signed-in browser, named by the random token of its sign-in cookie."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class UserSession(Base):
    __tablename__ = "user_sessions"
    # AUTOINCREMENT on SQLite: an id is never given twice (see migration 0014)
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 of the cookie token: a copy of this table signs nobody in
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    # When this session last confirmed the password (or a code) on a settings form:
    # the reauthentication window (app/services/reauthentication.py) starts there.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
