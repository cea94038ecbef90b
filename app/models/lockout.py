"""Failed sign-ins counted per address, and the lockout they lead to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class SignInLockout(Base):
    """Failed sign-ins for one address, from any IP, whether or not it has an account.

    Keyed by the canonical address, so that an address without an account locks
    the same way and a lockout tells nobody which addresses exist.
    """

    __tablename__ = "sign_in_lockouts"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The owner is mailed once per lockout, with a single-use "it was me" link.
    owner_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    unlock_key: Mapped[str] = mapped_column(String(32), default="")
