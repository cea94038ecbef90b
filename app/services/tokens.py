"""Signed, expiring tokens for the links we mail."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.services import ServiceError


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
