"""Sign-up, sign-in, sign-out and recovery."""

from app.auth import routes  # noqa: F401 - adds the views to bp
from app.auth.blueprint import bp

__all__ = ["bp"]
