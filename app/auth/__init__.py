"""Sign-up, sign-in, sign-out and recovery."""

from app.auth import (  # noqa: F401 - each adds its views to bp
    check_inbox,
    email_change,
    passkeys,
    recovery,
    refusals,
    sign_in,
    sign_up,
)
from app.auth.blueprint import bp

__all__ = ["bp"]
