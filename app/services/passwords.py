"""Password hashing (argon2id) and the strength rule."""

from __future__ import annotations

import functools
import math
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from app.services import ServiceError

MIN_LENGTH = 10
MAX_LENGTH = 256
# What a new password of the wrong length is told; the forms say the same.
TOO_SHORT = f"Use at least {MIN_LENGTH} characters."
TOO_LONG = f"Use at most {MAX_LENGTH} characters."
# What a typed current password longer than any password can be is told.
LONGER_THAN_ANY = (
    f"A password has at most {MAX_LENGTH} characters: check what you typed."
)
MIN_SCORE = 3
# zxcvbn judges a prefix of the password: strength_sample's. Both bounds were set with
# bench/password_strength.py (median of 5 runs, two-core machine): the slowest input
# its hill-climbing search found took ~30 ms, where plain zxcvbn on 72 characters took
# up to ~2 s; generated passwords of 12+ characters and passphrases kept their score.
# In characters: zxcvbn's scoring of a run of one-letter words grows as n³ ('i' * 40
# takes ~20 ms).
SAMPLE_MAX_CHARS = 40
# In l33t tables x characters²: zxcvbn's l33t search costs ~0.6 µs per unit.
SAMPLE_BUDGET = 20_000


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
    """Return the argon2id hash (PHC string) of a password, at the configured cost."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether the password matches the hash; a malformed hash never matches."""
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


@functools.cache
def _l33t_characters() -> tuple[frozenset[str], ...]:
    """For each letter of zxcvbn's l33t table, the characters that may stand for it."""
    # Imported here, as zxcvbn below: importing it loads its word lists (~12 MiB).
    from zxcvbn.matching import L33T_TABLE

    return tuple(frozenset(chars) for chars in L33T_TABLE.values())


def strength_sample(password: str) -> str:
    """Return the prefix of the password that zxcvbn judges.

    zxcvbn's time explodes on some inputs; judging only the longest prefix of at most
    SAMPLE_MAX_CHARS characters whose l33t tables x characters² stay within
    SAMPLE_BUDGET bounds it, and a password is at least as hard to guess as its
    prefix. l33t tables: the product, over the letters of zxcvbn's l33t table, of how
    many of their stand-ins the prefix holds (at least 1); zxcvbn tries up to twice
    as many, as 1, | and 7 stand for two letters each.
    """
    letters = _l33t_characters()
    seen: set[str] = set()
    for length, char in enumerate(password[:SAMPLE_MAX_CHARS], start=1):
        seen.add(char)
        tables = math.prod(max(1, len(chars & seen)) for chars in letters)
        if tables * length * length > SAMPLE_BUDGET:
            return password[: length - 1]
    return password[:SAMPLE_MAX_CHARS]


def check_password_strength(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse a password that is too short, too long, or easy to guess.

    Raises WeakPassword, whose `reason` is the sentence to show. zxcvbn judges the
    guessability, counting the e-mail address and the name as known to a guesser.
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword(TOO_SHORT)
    if len(password) > MAX_LENGTH:
        raise WeakPassword(TOO_LONG)
    if email and password.strip().lower() == email.strip().lower():
        raise WeakPassword("Your password must not be your e-mail address.")
    inputs = [part for part in (email, email.split("@")[0], name) if part]
    # Imported here: its word lists cost ~12 MiB, paid only by processes that need it.
    from zxcvbn import zxcvbn

    result = zxcvbn(strength_sample(password), user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        reason = feedback.get("warning") or "This password is too easy to guess."
        hints = " ".join(feedback.get("suggestions") or [])
        raise WeakPassword(f"{reason.rstrip('.')}. {hints}".strip())
