"""The security log: what happened to an account, when, and from where."""

from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.models import SecurityEvent, SecurityEventKind

USER_AGENT_MAX = 255


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, as the route saw it."""

    ip: str = ""
    user_agent: str = ""


def record_event(user_id: int, kind: SecurityEventKind, client: ClientInfo) -> None:
    """Add an event to the user's log; the caller's transaction commits it."""
    db.session.add(
        SecurityEvent(
            user_id=user_id,
            kind=kind,
            ip=client.ip,
            user_agent=client.user_agent[:USER_AGENT_MAX],
        )
    )
