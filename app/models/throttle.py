"""Clients a rate limit refused lately, kept for the admin area to list and clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow

KEY_MAX = 512


class ThrottledClient(Base):
    """One limit's count for one client (an IP, an IP and address, an account).

    `key` is the limit's key in the rate-limit storage, which clearing empties;
    `client` and `endpoint` (the limit's scope: its route's endpoint, or a shared
    limit's name) are what the limit counted by, noted at the refusal.
    """

    __tablename__ = "throttled_clients"

    # an IPv6 address and a 254-character address come to about 360 with the rest
    key: Mapped[str] = mapped_column(String(KEY_MAX), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    # "198.51.100.23", "198.51.100.23|ada@example.com", "user|7", "pending:..."
    client: Mapped[str] = mapped_column(String(KEY_MAX), default="", server_default="")
    # the limit as written: "20 per 1 minute"
    rate_limit: Mapped[str] = mapped_column(String(60))
    refusals: Mapped[int] = mapped_column(Integer, default=1)
    last_refused_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
