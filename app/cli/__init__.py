"""Operator commands: `flask --app wsgi users ...` and `flask --app wsgi mail ...`.

A command that cannot do what it was asked prints one line saying why and exits
with status 1 (2 for a command line it cannot read, as click does). One module per
command group (users.py, mail.py); what their commands take is in parameters.py.
"""

from __future__ import annotations

from flask import Flask

from app.cli.mail import mail_cli
from app.cli.users import users_cli


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(users_cli)
    app.cli.add_command(mail_cli)
