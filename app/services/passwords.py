"""Password hashing (argon2id) and the strength rule."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from app.services import ServiceError

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_SCORE = 3
# zxcvbn's run time grows with length; the tail of a long password adds no weakness.
# 72 is zxcvbn's own ceiling: it raises ValueError on anything longer.
_STRENGTH_PREFIX = 72


class WeakPassword(ServiceError):
    """The password is too short, too long or too easy to guess."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _hasher() -> PasswordHasher:
    state = current_app.extensions.get("vestibule_hasher")
    if state is None:
        config = current_app.config
        hasher = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_COST"],
            parallelism=config["ARGON2_PARALLELISM"],
            type=Type.ID,
        )
        # Verified against for unknown e-mails, so both paths cost one hash.
        dummy = hasher.hash(secrets.token_urlsafe(16))
        state = current_app.extensions["vestibule_hasher"] = (hasher, dummy)
    return state[0]


def hash_password(password: str) -> str:
    """Hash a password with argon2id and the configured cost."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether the password matches the hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_against_dummy(password: str) -> None:
    """Spend the same work as a real check, for an e-mail that has no account."""
    _hasher()
    verify_password(current_app.extensions["vestibule_hasher"][1], password)


def needs_rehash(password_hash: str) -> bool:
    """Tell whether the hash was made with other parameters than today's."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def check_password_strength(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse a password that is too short, too long, or easy to guess."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use at most {MAX_LENGTH} characters.")
    if email and password.strip().lower() == email.strip().lower():
        raise WeakPassword("Your password must not be your e-mail address.")
    inputs = [part for part in (email, email.split("@")[0], name) if part]
    # Imported here: its word lists cost ~12 MiB, paid only by processes that need it.
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:_STRENGTH_PREFIX], user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        reason = feedback.get("warning") or "This password is too easy to guess."
        hints = " ".join(feedback.get("suggestions") or [])
        raise WeakPassword(f"{reason.rstrip('.')}. {hints}".strip())
