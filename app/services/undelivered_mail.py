"""Mail that failed every attempt: listed for admins, given new attempts on request.

The mailer (mailer.deliver_due) gives up on a mail after MAIL_MAX_ATTEMPTS; the
outbox keeps it, with its last error, until an operator queues it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from flask import current_app
from sqlalchemy import ColumnElement, CursorResult, and_, select, update

from app.extensions import db
from app.models import OutboxMail
from app.models.base import ID_MAX, utcnow


def _undelivered() -> ColumnElement[bool]:
    return and_(
        OutboxMail.sent_at.is_(None),
        OutboxMail.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"],
    )


def list_undelivered(limit: int = 200) -> Sequence[OutboxMail]:
    """Return the mails that failed every attempt, newest first."""
    return db.session.scalars(
        select(OutboxMail)
        .where(_undelivered())
        .order_by(OutboxMail.id.desc())
        .limit(limit)
    ).all()


def requeue_mail(mail_id: int | None = None) -> int:
    """Give undelivered mail (one, or all when `mail_id` is None) new attempts; commit.

    Returns how many mails were queued again; they go out at the next delivery.
    """
    statement = (
        update(OutboxMail)
        .where(_undelivered())
        .values(attempts=0, next_attempt_at=utcnow(), last_error="")
    )
    if mail_id is not None:
        if not 0 < mail_id <= ID_MAX:
            return 0  # names no mail
        statement = statement.where(OutboxMail.id == mail_id)
    result = cast(CursorResult[Any], db.session.execute(statement))
    db.session.commit()
    return result.rowcount
