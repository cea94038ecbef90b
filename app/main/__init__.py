"""Public pages and health checks."""
