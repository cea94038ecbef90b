"""Public pages, the language menu and health checks."""

from app.main import language, routes  # noqa: F401 - each adds its views to bp
from app.main.blueprint import bp

__all__ = ["bp"]
