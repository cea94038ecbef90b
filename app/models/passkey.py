"""Passkeys (WebAuthn credentials) and the challenges their ceremonies answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow

PASSKEY_NAME_MAX = 64


class Passkey(Base):
    """One passkey of an account: the public half of a key its authenticator keeps.

    Nothing here signs anyone in: the private key never leaves the authenticator.
    """

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # the authenticator's id for the credential (at most 1023 bytes, WebAuthn §5.8.3)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    # the COSE public key, as the authenticator gave it
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # the authenticator's signature counter at the last sign-in (0: it keeps none);
    # unsigned 32-bit in WebAuthn, so wider than PostgreSQL's INTEGER
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # how the browser reaches it ("internal", "hybrid", "usb"...), comma-separated
    transports: Mapped[str] = mapped_column(String(255), default="")
    # may be synced to the member's other devices, and is (WebAuthn's BE and BS flags)
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    # the authenticator's model, as a UUID (all zeros when it does not say)
    aaguid: Mapped[str] = mapped_column(String(36), default="")
    name: Mapped[str] = mapped_column(String(PASSKEY_NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = ({"sqlite_autoincrement": True},)


class PasskeyChallenge(Base):
    """A challenge handed to one browser for one ceremony; used once, then deleted.

    `key` is the random name the browser's state cookie holds (the challenge is
    bound to that browser); `purpose` says which ceremony it is for ("sign_in",
    "second_step", "register"); a challenge of the second step is bound to its
    account, one of a registration to its account and session too.
    """

    __tablename__ = "passkey_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_sessions.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_passkey_challenges_created_at", "created_at"),
        {"sqlite_autoincrement": True},
    )
