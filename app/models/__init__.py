"""The models, one module per aggregate; imported here so Alembic sees them all."""

from app.models.lockout import SignInLockout
from app.models.outbox import OutboxMail
from app.models.passkey import Passkey, PasskeyChallenge
from app.models.recovery_code import RecoveryCode
from app.models.security_event import SecurityEvent, SecurityEventKind
from app.models.session import UserSession
from app.models.sign_up import SignUpClaim
from app.models.throttle import ThrottledClient
from app.models.user import User

__all__ = [
    "OutboxMail",
    "Passkey",
    "PasskeyChallenge",
    "RecoveryCode",
    "SecurityEvent",
    "SecurityEventKind",
    "SignInLockout",
    "SignUpClaim",
    "ThrottledClient",
    "User",
    "UserSession",
]
