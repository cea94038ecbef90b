"""Public pages and health checks."""

from app.main import routes  # noqa: F401 - adds the views to bp
from app.main.blueprint import bp

__all__ = ["bp"]
