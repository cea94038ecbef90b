"""`flask --app wsgi users ...`: the operators' commands on accounts."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask.cli import AppGroup

from app.cli.parameters import TEXT, Duration, checked_text, read_password_line
from app.services import ServiceError, admin, admin_accounts, sign_up, user_list
from app.services.security_log import ClientInfo

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create-admin")
@click.argument("email", type=TEXT)
@click.option(
    "--name", type=TEXT, help="The admin's display name (asked for a new account)."
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)
def create_admin(email: str, name: str | None, password_stdin: bool) -> None:
    """Make the account with EMAIL an admin, or create a verified admin account.

    An existing account keeps its name and password: neither is asked for.
    """
    try:
        user = admin_accounts.promote_existing(email)
        if user is None:
            if name is None:
                raise click.ClickException(
                    "No account has that address: give --name to create one."
                )
            if password_stdin:
                password = read_password_line()
            else:
                password = checked_text(
                    click.prompt("Password", hide_input=True, confirmation_prompt=True),
                    "The password",
                )
            user = admin_accounts.create_admin(email, name, password)
            click.echo(f"Admin {user.email} (id {user.id}) is ready.")
            return
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Admin {user.email} (id {user.id}) is ready: an account already, it keeps "
        f"its name ({user.name}) and password."
    )
    if not user.is_active:
        click.echo(
            f"It is deactivated: `flask users activate {user.email}` lets it sign in."
        )


@users_cli.command("list")
@click.option(
    "--filter",
    "filter_",
    type=click.Choice([choice.value for choice in user_list.UserFilter]),
    default=user_list.UserFilter.ALL.value,
    show_default=True,
    help="Which accounts to list.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
def list_users(filter_: str, as_json: bool) -> None:
    """Print the accounts, oldest first: id, e-mail, name and flags, tab-separated."""
    for user in user_list.all_users(user_list.UserFilter(filter_)):
        if as_json:
            record = {
                "id": user.id,
                "email": user.email,
                "name": user.name,
                "active": user.is_active,
                "admin": user.is_admin,
                "two_factor": user.totp_secret is not None,
                "created_at": user.created_at.isoformat(),
                "last_sign_in_at": user.last_login_at.isoformat()
                if user.last_login_at
                else None,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        flags = ",".join(
            flag
            for flag, on in (("admin", user.is_admin), ("inactive", not user.is_active))
            if on
        )
        click.echo(f"{user.id}\t{user.email}\t{user.name}\t{flags}")


@users_cli.command("deactivate")
@click.argument("email", type=TEXT)
def deactivate(email: str) -> None:
    """Deactivate an account and end its sessions."""
    try:
        user = admin.deactivate(admin_accounts.find_user(email).id, None, ClientInfo())
    except admin.AdminError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{user.email} is deactivated.")


@users_cli.command("activate")
@click.argument("email", type=TEXT)
def activate(email: str) -> None:
    """Let a deactivated account sign in again."""
    try:
        user = admin_accounts.find_user(email)
        if user.is_active:
            click.echo(f"{user.email} is active already; nothing changed.")
            return
        admin.activate(user.id, None, ClientInfo())
    except admin.AdminError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{user.email} can sign in again.")


@users_cli.command("disable-two-factor")
@click.argument("email", type=TEXT)
def disable_two_factor(email: str) -> None:
    """Turn off an account's two-factor sign-in and end its sessions.

    For an owner who cannot pass the second step; check who is asking first.
    """
    try:
        user = admin.disable_two_factor(
            admin_accounts.find_user(email).id, None, ClientInfo()
        )
    except admin.AdminError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Two-factor sign-in is off for {user.email}; its sessions are ended, its "
        "password no longer works and its owner was mailed a link to set a new one."
    )


@users_cli.command("purge-unverified")
@click.option(
    "--older-than",
    type=Duration(),
    required=True,
    help="Only sign-ups older than this, for example 7d.",
)
def purge_unverified(older_than: timedelta) -> None:
    """Delete sign-ups whose link was never opened; accounts are never touched."""
    count = sign_up.purge_unverified(older_than)
    click.echo(f"{count} sign-up(s) deleted.")
