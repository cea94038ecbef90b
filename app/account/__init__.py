"""The signed-in user's own settings."""

from app.account import routes  # noqa: F401 - adds the views to bp
from app.account.blueprint import bp

__all__ = ["bp"]
