"""What happened to an account's security, for its owner to read."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class SecurityEventKind(StrEnum):
    """Every kind of event the security log holds, stored as its value."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    SESSION_REVOKED = "session_revoked"
    OTHER_SESSIONS_REVOKED = "other_sessions_revoked"
    SIGN_IN_REPORTED = "sign_in_reported"
    EMAIL_CHANGED = "email_changed"
    EMAIL_CHANGE_UNDONE = "email_change_undone"
    EMAIL_VERIFIED = "email_verified"
    LOCKOUT = "lockout"
    UNLOCK = "unlock"
    TWO_FACTOR_ON = "two_factor_on"
    TWO_FACTOR_OFF = "two_factor_off"
    TWO_FACTOR_FAILED = "two_factor_failed"
    RECOVERY_CODE_USED = "recovery_code_used"
    RECOVERY_CODES_RENEWED = "recovery_codes_renewed"
    SIGN_IN_PASSKEY = "sign_in_passkey"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"
    # a passkey whose signature counter went back: maybe a copy of the key
    PASSKEY_CLONE_SUSPECTED = "passkey_clone_suspected"
    # what an admin did to the account (the event's actor_id names the admin)
    DEACTIVATED = "deactivated"
    ACTIVATED = "activated"
    ADMIN_GRANTED = "admin_granted"
    ADMIN_REVOKED = "admin_revoked"
    LOCKOUT_CLEARED = "lockout_cleared"
    TWO_FACTOR_OFF_BY_ADMIN = "two_factor_off_by_admin"
    PASSKEY_REMOVED_BY_ADMIN = "passkey_removed_by_admin"
    # names of events, not passwords
    PASSWORD_CHANGED = "password_changed"  # noqa: S105  # nosec B105
    PASSWORD_RESET = "password_reset"  # noqa: S105  # nosec B105


# The events that opened a session, whichever way the member signed in.
SIGN_IN_KINDS = (SecurityEventKind.SIGN_IN, SecurityEventKind.SIGN_IN_PASSKEY)


class SecurityEvent(Base):
    """One event of an account's security log, with where it came from."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # the admin who did it, for an admin's action; forgotten when that admin goes
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # a SecurityEventKind's value
    kind: Mapped[str] = mapped_column(String(40))
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_security_events_user_time", "user_id", "created_at"),
        {"sqlite_autoincrement": True},
    )
