"""Mail: queued in the outbox with the change that causes it, delivered after."""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_locale
from sqlalchemy import event, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app import metrics
from app.config import SOURCE_LANGUAGE
from app.extensions import db
from app.models import OutboxMail, User
from app.models.base import utcnow

log = logging.getLogger("vestibule.mail")

# How long a sender owns a claimed mail before another may retry it.
CLAIM_LEASE = timedelta(minutes=5)
# A mail the SMTP server took is noted as sent before another is claimed; while the
# database fails, the sender tries again after a wait that doubles up to this (s).
NOTE_LONGEST_WAIT = 30.0
# How long the web process, sending after a response, keeps trying to note a send
# (the mail worker keeps trying until it is stopped).
NOTE_PATIENCE_AFTER_RESPONSE = 30.0
# Keys in `db.session.info`: a mail queued in the open transaction, and one committed.
_MAIL_PENDING = "mail_pending"
_MAIL_COMMITTED = "mail_committed"
# Anything shaped like an address in an SMTP error: a refusal quotes the recipient.
_ADDRESS = re.compile(r"[^\s<>\[\](){}'\",;:]+@[^\s<>\[\](){}'\",;:]+")


def link(endpoint: str, **values: Any) -> str:
    """Build an absolute link for a mail from BASE_URL, outside any request."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    base_url: str = current_app.config["BASE_URL"]
    return base_url.rstrip("/") + path


def queue_mail(
    recipient: str,
    subject: str,
    template: str,
    *,
    language: str | None,
    **context: Any,
) -> None:
    """Put a mail in the outbox; it goes out once the caller's transaction commits.

    `template` names app/templates/mail/<template>.txt, rendered with `context`.
    The subject (a `lazy_gettext` string) and the body are written in `language`,
    the recipient's ("de"); None writes them in the page's, for a mail to an
    address a visitor typed, who reads that page.
    """
    with force_locale(language or get_locale() or SOURCE_LANGUAGE):
        body = current_app.jinja_env.get_template(f"mail/{template}.txt").render(
            **context
        )
        subject = str(subject)
    db.session.add(OutboxMail(recipient=recipient, subject=subject, body=body))
    db.session.info[_MAIL_PENDING] = True


def member_language(user: User) -> str:
    """Return the language a member's mail is written in: their own, else English."""
    return user.language or SOURCE_LANGUAGE


def mail_committed() -> bool:
    """Tell whether `db.session` committed a mail since the last call (then forget it).

    The web process asks after each response, to deliver right away what the
    response's work queued.
    """
    if not db.session.registry.has():  # no database work in this context
        return False
    return bool(db.session.info.pop(_MAIL_COMMITTED, False))


@event.listens_for(db.session, "after_commit")
def _note_mail_committed(session: Session) -> None:
    if session.info.pop(_MAIL_PENDING, False):
        session.info[_MAIL_COMMITTED] = True


@event.listens_for(db.session, "after_rollback")
def _forget_pending_mail(session: Session) -> None:
    session.info.pop(_MAIL_PENDING, None)


def mail_problem() -> str | None:
    """Say why no mail can leave with the app's settings, or return None if it can.

    Mail can leave through MAIL_SERVER, or, outside production, to the log
    (MAIL_TO_LOG). The answer is a phrase: "not configured (MAIL_SERVER is unset)".
    """
    config = current_app.config
    if config["MAIL_SERVER"] or config["MAIL_TO_LOG"]:
        return None
    return "not configured (MAIL_SERVER is unset)"


def message_id(mail: OutboxMail) -> str:
    """Return the Message-ID of `mail`: the same at every attempt, unique to its row.

    Taken from the row's id and creation time, hashed so that it does not tell how
    many mails the site sent, at the sender's domain: "<3f9c...@example.org>". A
    mail sent twice (the SMTP server took it but the send could not be noted) comes
    twice with one Message-ID, which receiving servers and mail clients recognise.
    """
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    created = mail.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")
    digest = hashlib.sha256(f"outbox:{mail.id}:{created}".encode()).hexdigest()
    return f"<{digest[:32]}@{domain}>"


def _message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(mail)
    message.set_content(mail.body)
    return message


def _send(mail: OutboxMail) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        if not config["MAIL_TO_LOG"]:  # kept, retried, then undelivered: never lost
            raise smtplib.SMTPException("MAIL_SERVER is not set")
        log.info("mail to %s: %s\n%s", mail.recipient, mail.subject, mail.body)
        return
    with smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
    ) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(_message(mail))


def _without_addresses(error: Exception) -> str:
    """Return the error's text with every address in it replaced by "<address>"."""
    return _ADDRESS.sub("<address>", str(error))


def _claim(mail_id: int) -> bool:
    now = utcnow()
    result = db.session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.id == mail_id,
            OutboxMail.sent_at.is_(None),
            OutboxMail.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + CLAIM_LEASE, attempts=OutboxMail.attempts + 1)
    )
    db.session.commit()
    return bool(getattr(result, "rowcount", 0))


def _note_sent(mail: OutboxMail, stop: threading.Event | None) -> None:
    """Note `mail`, which the SMTP server took, as sent; keep trying while that fails.

    Not noted, the mail would stay claimed but unsent, and go out again once its
    claim lapses (CLAIM_LEASE). So while the database fails the sender tries again
    after a wait that doubles up to NOTE_LONGEST_WAIT, and claims nothing else
    meanwhile. It gives up, raising the database's SQLAlchemyError, once `stop` is
    set or, without `stop` (the web process), after NOTE_PATIENCE_AFTER_RESPONSE s.
    """
    mail_id = mail.id  # read now: after a rollback, reading it needs the database
    deadline = time.monotonic() + NOTE_PATIENCE_AFTER_RESPONSE
    wait = 0.5
    failures = 0
    while True:
        mail.sent_at = utcnow()
        # Its links are live: once sent, the mail is the recipient's alone.
        mail.body = ""
        try:
            db.session.commit()
        except SQLAlchemyError as error:
            db.session.rollback()
            failures += 1
            if failures == 1:
                log.warning(
                    "mail %s sent, but noting it failed; trying again before the "
                    "next mail: %s",
                    mail_id,
                    str(error).splitlines()[0],
                )
            gave_up = stop.is_set() if stop is not None else time.monotonic() > deadline
            if gave_up:
                log.error(
                    "mail %s sent but not noted; it goes out again (same Message-ID) "
                    "once its claim lapses",
                    mail_id,
                )
                raise
            if stop is not None:
                stop.wait(wait)
            else:
                time.sleep(wait)
            wait = min(wait * 2, NOTE_LONGEST_WAIT)
            continue
        if failures:
            log.info("mail %s noted as sent, after %s failed tries", mail_id, failures)
        return


def deliver_due(limit: int = 50, stop: threading.Event | None = None) -> int:
    """Send the mails that are due; return how many went out.

    A mail sent is marked sent and its body emptied in one commit: the body
    carries the mail's link (a reset, a confirmation, an undo), so the outbox
    keeps only the recipient, subject, times and attempts of a sent mail and a
    copy of the database holds no link of it. A mail not sent yet keeps its
    body for the next attempt.

    Several senders may run at once: each claims a mail with a conditional
    UPDATE before sending it, so no mail goes out twice. On PostgreSQL the due
    mails are read FOR UPDATE SKIP LOCKED, so a sender passes over those another
    is claiming instead of waiting for them (SQLite has no row locks: one writer
    at a time). Once `stop` is set no further mail is claimed: the one in hand is
    finished and noted first.

    Delivery is at least once: a mail the SMTP server took is noted as sent before
    another is claimed, tried again while the database fails (_note_sent); should
    that still fail, the mail goes out again after CLAIM_LEASE with the same
    Message-ID (message_id). Each outcome is logged by the mail's id, never its
    recipient or body. Raises SQLAlchemyError when the database fails.
    """
    due_ids = db.session.scalars(
        select(OutboxMail.id)
        .where(
            OutboxMail.sent_at.is_(None),
            OutboxMail.next_attempt_at <= utcnow(),
            OutboxMail.attempts < current_app.config["MAIL_MAX_ATTEMPTS"],
        )
        .order_by(OutboxMail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    sent = 0
    for mail_id in due_ids:
        if stop is not None and stop.is_set():
            break
        if not _claim(mail_id):
            continue
        mail = db.session.get_one(OutboxMail, mail_id)
        try:
            _send(mail)
        except (OSError, smtplib.SMTPException) as error:
            delay = timedelta(minutes=min(2**mail.attempts, 360))
            mail.next_attempt_at = utcnow() + delay
            mail.last_error = str(error)[:500]
            # The log names the mail by id, never its recipient (docs/design.md).
            if mail.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
                # Kept, listed for admins and sent again by `flask mail requeue`.
                log.error(
                    "mail %s undelivered after %s attempts: %s",
                    mail.id,
                    mail.attempts,
                    _without_addresses(error),
                )
            else:
                log.warning(
                    "mail %s failed, retry in %s: %s",
                    mail.id,
                    delay,
                    _without_addresses(error),
                )
            db.session.commit()
        else:
            if current_app.config["MAIL_SERVER"]:  # else the log holds the mail
                log.info("mail %s sent, attempt %s", mail.id, mail.attempts)
            _note_sent(mail, stop)
            sent += 1
        metrics.count_mail_attempt(mail)
    return sent
