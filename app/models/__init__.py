"""The models, one module per aggregate; imported here so Alembic sees them all."""

from app.models.lockout import SignInLockout
from app.models.outbox import OutboxMail
from app.models.security_event import SecurityEvent, SecurityEventKind
from app.models.session import UserSession
from app.models.sign_up import SignUpClaim
from app.models.user import User

__all__ = [
    "OutboxMail",
    "SecurityEvent",
    "SecurityEventKind",
    "SignInLockout",
    "SignUpClaim",
    "User",
    "UserSession",
]
