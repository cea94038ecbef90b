"""The admin area: accounts, lockouts and undelivered mail, for admins only."""

from app.admin import routes  # noqa: F401 - adds the views to bp
from app.admin.blueprint import bp

__all__ = ["bp"]
