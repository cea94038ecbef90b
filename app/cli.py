"""Operator commands: `flask --app wsgi users ...` and `flask --app wsgi mail ...`.

A command that cannot do what it was asked prints one line saying why and exits
with status 1 (2 for a command line it cannot read, as click does). That holds for
bytes that are not UTF-8 too: every text a command takes, argument, option or
standard input, goes through `checked_text` (the TEXT parameter type).
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import threading
from datetime import timedelta
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.services import ServiceError, admin, mailer
from app.services.security_log import ClientInfo

users_cli = AppGroup("users", help="Manage accounts.")
mail_cli = AppGroup("mail", help="Deliver the outbox.")

DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
LONGEST_DURATION = timedelta(days=36_525)  # reaching back past year 1 breaks dates
# The longest the mail worker waits between tries while delivery keeps failing.
WORKER_LONGEST_WAIT = 60.0
log = logging.getLogger("vestibule.mail")


def checked_text(value: str, what: str) -> str:
    """Return `value`, or raise a one-line ClickException if it is not UTF-8 text.

    Click and Python hand on bytes they cannot decode as lone surrogates
    (U+DC80-U+DCFF); printed, stored or looked up they end in a UnicodeEncodeError
    traceback. The message names `what` and never repeats the value.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _not_utf8(what) from None
    return value


def _not_utf8(what: str) -> click.ClickException:
    return click.ClickException(
        f"{what} holds bytes that are not UTF-8 text; nothing changed."
    )


class Text(click.ParamType[str, str]):
    """Any text, refused in one line (exit 1) when it carries undecodable bytes."""

    name = "text"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        if isinstance(param, click.Option):
            what = param.opts[0]  # "--name"
        else:
            what = param.human_readable_name if param is not None else "The value"
        return checked_text(str(value), what)


TEXT = Text()


def read_password_line() -> str:
    """Read one password line from standard input, refusing bytes that are not UTF-8.

    A strict stdin (a UTF-8 locale) raises UnicodeDecodeError on them; an escaping
    one (the C locale) hands on lone surrogates: both are refused in one line.
    """
    what = "The password on standard input"
    try:
        line = sys.stdin.readline()
    except UnicodeDecodeError:
        raise _not_utf8(what) from None
    return checked_text(line.rstrip("\n"), what)


class Duration(click.ParamType[timedelta, str]):
    """A length of time written as a whole number and a unit: 30m, 12h, 7d, 2w."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = re.fullmatch(r"\s*(\d{1,6})\s*([mhdw])\s*", str(value))
        if match is None:
            self.fail(
                f"{value!r} is not a duration; write a number and m, h, d or w "
                "(for example 7d).",
                param,
                ctx,
            )
        number, unit = match.groups()
        duration = timedelta(**{DURATION_UNITS[unit]: int(number)})
        if duration > LONGEST_DURATION:
            self.fail(f"{value!r} is too long; give at most 100 years.", param, ctx)
        return duration


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
        user = admin.promote_existing(email)
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
            user = admin.create_admin(email, name, password)
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
    type=click.Choice([choice.value for choice in admin.UserFilter]),
    default=admin.UserFilter.ALL.value,
    show_default=True,
    help="Which accounts to list.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
def list_users(filter_: str, as_json: bool) -> None:
    """Print the accounts, oldest first: id, e-mail, name and flags, tab-separated."""
    for user in admin.all_users(admin.UserFilter(filter_)):
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
        user = admin.deactivate(admin.find_user(email).id, None, ClientInfo())
    except admin.AdminError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{user.email} is deactivated.")


@users_cli.command("activate")
@click.argument("email", type=TEXT)
def activate(email: str) -> None:
    """Let a deactivated account sign in again."""
    try:
        user = admin.find_user(email)
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
        user = admin.disable_two_factor(admin.find_user(email).id, None, ClientInfo())
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
    count = admin.purge_unverified(older_than)
    click.echo(f"{count} sign-up(s) deleted.")


@mail_cli.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due, then stop.")
@click.option(
    "--interval",
    default=2.0,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between looks at the outbox.",
)
def worker(once: bool, interval: float) -> None:
    """Deliver queued mail, with retries and backoff, until stopped.

    A failed look at the outbox (the database down) is logged and tried again
    after a wait that doubles up to a minute; a mail the SMTP server does not take
    waits its own retry time (mailer.deliver_due). SIGTERM or Ctrl-C stops the
    worker once the mail in hand is sent and noted.
    """
    if once:
        click.echo(f"{mailer.deliver_due()} mail(s) sent.")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    failures = 0
    log.info("mail worker: started, looking at the outbox every %.1f s", interval)
    while not stop.is_set():
        try:
            sent = mailer.deliver_due(stop=stop)
        except Exception as error:  # logged below; the worker carries on
            db.session.remove()  # its connection may be gone; the next try gets one
            failures += 1
            wait = min(interval * 2**failures, WORKER_LONGEST_WAIT)
            if isinstance(error, SQLAlchemyError):
                first_line = str(error).splitlines()[0]
                log.error(
                    "mail worker: database error, next try in %.1f s: %s",
                    wait,
                    first_line,
                )
            else:
                log.exception("mail worker: delivery failed, next try in %.1f s", wait)
            stop.wait(wait)
            continue
        failures = 0
        if not sent:
            stop.wait(interval)
    log.info("mail worker: stopped")


@mail_cli.command("requeue")
def requeue() -> None:
    """Queue every undelivered mail again; the next delivery sends it."""
    count = admin.requeue_mail()
    click.echo(f"{count} undelivered mail(s) queued again.")


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(users_cli)
    app.cli.add_command(mail_cli)
