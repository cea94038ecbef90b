"""The member directory and profiles."""

from app.users import routes  # noqa: F401 - adds the views to bp
from app.users.blueprint import bp

__all__ = ["bp"]
