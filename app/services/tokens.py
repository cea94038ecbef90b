"""Signed, expiring tokens for the links we mail, and what the links are bound to.

A link dies when its reason is gone (docs/design.md, "Mailed links"): each kind signs
what it depends on, such as the address it was mailed to (`address_digest`), the
account's latest move (`last_move`) or the time it was mailed (a move since ends it:
`moved_since`), a fingerprint of the password, or a key that a newer link of its
kind replaces (`new_link_key`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from app.extensions import db
from app.models import SecurityEvent, SecurityEventKind, User
from app.services import ServiceError

# The events that move an account to another address.
MOVES = (SecurityEventKind.EMAIL_CHANGED, SecurityEventKind.EMAIL_CHANGE_UNDONE)


class InvalidLink(ServiceError):
    """The link was tampered with, already used, or belongs to nobody."""


class ExpiredLink(InvalidLink):
    """The link was genuine but is too old; `payload` is what it carried."""

    def __init__(self, payload: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.payload = payload or {}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    """Sign a JSON-able payload for one purpose; return a URL-safe token.

    The purpose is the signature's salt: a verify token never opens a reset.
    """
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict[str, Any]:
    """Return the payload of a genuine token signed less than `max_age` seconds ago.

    Raises ExpiredLink for a genuine but older token, InvalidLink for any other.
    """
    serializer = _serializer(purpose)
    try:
        payload = serializer.loads(token, max_age=max_age)
    except SignatureExpired as error:
        # genuine, so what it carried may still say why it is of no use now
        carried = serializer.load_payload(error.payload) if error.payload else None
        raise ExpiredLink(carried if isinstance(carried, dict) else None) from None
    except BadSignature:
        raise InvalidLink() from None
    if not isinstance(payload, dict):
        raise InvalidLink()
    return payload


def address_digest(email: str) -> str:
    """Return 32 hex digits naming an address, for a link to carry in its stead.

    Its reader, maybe a stranger at a mistyped address, learns nothing from it.
    """
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def new_link_key() -> str:
    """Return a random key (32 hex digits) for the newest link of a kind to carry.

    Stored where the link is checked; replacing it voids every link mailed before.
    """
    return secrets.token_hex(16)


def last_move(user_id: int) -> int:
    """Return the id of the account's latest move to another address, 0 for none.

    A link that carries it dies at the account's next move, also one back to the
    address the link was mailed to.
    """
    latest = db.session.scalar(
        select(func.max(SecurityEvent.id)).where(
            SecurityEvent.user_id == user_id, SecurityEvent.kind.in_(MOVES)
        )
    )
    return latest or 0


def moved_since(user_id: int, issued: object) -> bool:
    """Tell whether the account moved to another address after `issued`.

    `issued` is what a link carries as its time, seconds since the epoch; links
    mailed before they carried one (anything not a number) are checked by their
    address alone, and this says False.
    """
    if not isinstance(issued, int | float):
        return False
    moves = select(SecurityEvent.id).where(
        SecurityEvent.user_id == user_id,
        SecurityEvent.kind.in_(MOVES),
        SecurityEvent.created_at > datetime.fromtimestamp(issued, UTC),
    )
    return db.session.scalar(moves.limit(1)) is not None


def password_fingerprint(user: User) -> str:
    """Return 16 hex digits tied to the user's password hash, for links to carry.

    Any password change (a reset, or lock_password) gives another: a link that
    carries the old one is void.
    """
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]
