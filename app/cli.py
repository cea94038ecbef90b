"""Operator commands: `flask --app wsgi users ...` and `flask --app wsgi mail ...`."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask
from flask.cli import AppGroup

from app.services import ServiceError, admin, mailer

users_cli = AppGroup("users", help="Manage accounts.")
mail_cli = AppGroup("mail", help="Deliver the outbox.")


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", required=True, help="The admin's display name.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)
def create_admin(email: str, name: str, password_stdin: bool) -> None:
    """Create a verified admin account, or make an existing account admin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = admin.create_admin(email, name, password)
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Admin {user.email} (id {user.id}) is ready.")


@users_cli.command("list")
def list_users() -> None:
    """Print every account, one a line."""
    for user in admin.all_users():
        flags = ",".join(
            flag
            for flag, on in (
                ("admin", user.is_admin),
                ("inactive", not user.is_active),
                ("unverified", not user.is_verified),
            )
            if on
        )
        click.echo(f"{user.id}\t{user.email}\t{user.name}\t{flags}")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Deactivate an account and end its sessions."""
    try:
        admin.deactivate_user_by_email(email)
    except admin.AdminError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{email} is deactivated.")


@mail_cli.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due, then stop.")
@click.option("--interval", default=2.0, help="Seconds between looks at the outbox.")
def worker(once: bool, interval: float) -> None:
    """Deliver queued mail, with retries and backoff, until stopped."""
    while True:
        sent = mailer.deliver_due()
        if once:
            click.echo(f"{sent} mail(s) sent.")
            return
        if not sent:
            time.sleep(interval)


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(users_cli)
    app.cli.add_command(mail_cli)
