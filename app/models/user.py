"""The account: who someone is and how they sign in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, and_, true
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class User(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    # casefolded name, kept beside `name` so directory search and order use an index
    name_key: Mapped[str] = mapped_column(String(160))
    bio: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_listed: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


# Who the directory shows. The partial index below carries exactly this condition, so
# listing, counting and paging read the index alone (SQLite and PostgreSQL both need
# the query to repeat the index's condition to use it).
LISTED = and_(
    User.is_active == true(),
    User.is_listed == true(),
    User.email_verified_at.is_not(None),
)
Index(
    "ix_users_directory",
    User.name_key,
    User.id,
    sqlite_where=LISTED,
    postgresql_where=LISTED,
)
