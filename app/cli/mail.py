"""`flask --app wsgi mail ...`: the mail worker, and undelivered mail queued again."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.services import mailer, undelivered_mail

mail_cli = AppGroup("mail", help="Deliver the outbox.")

# The longest the mail worker waits between tries while delivery keeps failing.
WORKER_LONGEST_WAIT = 60.0
log = logging.getLogger("vestibule.mail")


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
    count = undelivered_mail.requeue_mail()
    click.echo(f"{count} undelivered mail(s) queued again.")
