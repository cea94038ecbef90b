"""A sign-up waiting for its link: until one is opened, nobody holds the address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class SignUpClaim(Base):
    """One sign-up's name and password for an address nobody has verified yet.

    Several claims may wait for one address; the one whose link is opened becomes
    the account and the others are dropped.
    """

    __tablename__ = "sign_up_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Random, in the claim's link: a link outlives neither its claim nor a reused id.
    link_key: Mapped[str] = mapped_column(String(32))
    # sha256 of the random key kept in the signing-up browser's state cookie
    browser_key_hash: Mapped[str] = mapped_column(String(64), default="")
    # The language of the page the sign-up was made on ("fr"): its mails are in
    # it, and so is the account's, once the link is opened.
    language: Mapped[str] = mapped_column(String(16), server_default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_sign_up_claims_email_time", "email", "created_at"),
        {"sqlite_autoincrement": True},
    )
