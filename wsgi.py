"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from app import ConfigError, create_app

try:
    app = create_app()
except ConfigError as error:
    # One line naming the fix, not a traceback, from gunicorn and `flask` alike.
    raise SystemExit(f"Error: {error}") from None
