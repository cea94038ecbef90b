"""The security log: what happened to an account, when, and from where."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert

from app.extensions import db
from app.models import SecurityEvent


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, as the route saw it."""

    ip: str = ""
    user_agent: str = ""


_INSERT = insert(SecurityEvent.__table__)


def record_event(user_id: int, kind: str, client: ClientInfo) -> None:
    """Add an event to the user's log; the caller's transaction commits it."""
    db.session.execute(
        _INSERT,
        {
            "user_id": user_id,
            "kind": kind,
            "ip": client.ip,
            "user_agent": client.user_agent[:255],
        },
    )
