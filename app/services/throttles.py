"""Clients the rate limits refused lately: noted at each refusal, listed, cleared.

The counts themselves live in the rate-limit storage (Redis in production); this
keeps, per limit and client, what an admin needs to find and clear one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select

from app.database import upsert
from app.extensions import db, limiter
from app.models import ThrottledClient
from app.models.base import utcnow

KEY_MAX = 255
# Long enough for the longest limit (per hour), short enough to stay a short list.
LISTED_FOR = timedelta(days=1)


def note_refusal(key: str, endpoint: str, rate_limit: str) -> None:
    """Count one refusal of `key` by a limit; commit.

    One INSERT ... ON CONFLICT DO UPDATE in each database's own dialect, as
    refusals arrive together from many workers.
    """
    now = utcnow()
    db.session.execute(
        upsert(db.session, ThrottledClient)
        .values(
            key=key[:KEY_MAX],
            endpoint=endpoint[:100],
            rate_limit=rate_limit[:60],
            refusals=1,
            last_refused_at=now,
        )
        .on_conflict_do_update(
            index_elements=[ThrottledClient.key],
            set_={
                "refusals": ThrottledClient.refusals + 1,
                "last_refused_at": now,
            },
        )
    )
    db.session.commit()


def list_throttled(limit: int = 200) -> Sequence[ThrottledClient]:
    """Return the clients refused in the last day, the latest first."""
    since: datetime = utcnow() - LISTED_FOR
    return db.session.scalars(
        select(ThrottledClient)
        .where(ThrottledClient.last_refused_at >= since)
        .order_by(ThrottledClient.last_refused_at.desc())
        .limit(limit)
    ).all()


def clear_throttle(key: str) -> bool:
    """Empty one client's count of one limit, so it may try again now; commit.

    Returns False for a key that was not listed. The rate-limit storage is
    cleared for every worker when it is shared (Redis); with memory:// only the
    process that answers forgets it.
    """
    result = cast(
        CursorResult[Any],
        db.session.execute(
            delete(ThrottledClient).where(ThrottledClient.key == key[:KEY_MAX])
        ),
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    limiter.limiter.storage.clear(key)
    db.session.commit()
    return True
