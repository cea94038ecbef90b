"""The signed-in user's own settings."""

# Each view module adds its views to bp as it is imported.
from app.account import (  # noqa: F401
    data,
    email_change,
    passkeys,
    password,
    profile,
    rate_limited,
    security_log,
    sessions,
    two_factor,
)
from app.account.blueprint import bp

__all__ = ["bp"]
