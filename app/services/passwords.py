"""Password hashing (argon2id) and the strength rule."""

from __future__ import annotations

import functools
import math
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.services import ServiceError

MIN_LENGTH = 10
MAX_LENGTH = 256
# What a new password of the wrong length is told; the forms say the same.
TOO_SHORT = _l("Use at least %(num)d characters.", num=MIN_LENGTH)
TOO_LONG = _l("Use at most %(num)d characters.", num=MAX_LENGTH)
# What a typed current password longer than any password can be is told.
LONGER_THAN_ANY = _l(
    "A password has at most %(num)d characters: check what you typed.",
    num=MAX_LENGTH,
)
# zxcvbn's feedback is English only: each of its sentences (zxcvbn/feedback.py)
# is said in the site's own words, marked for translation. A sentence not listed
# (a newer zxcvbn's) is not shown: GUESSABLE stands for a warning.
GUESSABLE = _l("This password is too easy to guess.")
ZXCVBN_SENTENCES = {
    str(sentence): sentence
    for sentence in (
        _l("Use a few words, avoid common phrases."),
        _l("No need for symbols, digits, or uppercase letters."),
        _l("Add another word or two. Uncommon words are better."),
        _l("Straight rows of keys are easy to guess."),
        _l("Short keyboard patterns are easy to guess."),
        _l("Use a longer keyboard pattern with more turns."),
        _l('Repeats like "aaa" are easy to guess.'),
        _l('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
        _l("Avoid repeated words and characters."),
        _l('Sequences like "abc" or "6543" are easy to guess.'),
        _l("Avoid sequences."),
        _l("Recent years are easy to guess."),
        _l("Avoid recent years."),
        _l("Avoid years that are associated with you."),
        _l("Dates are often easy to guess."),
        _l("Avoid dates and years that are associated with you."),
        _l("This is a top-10 common password."),
        _l("This is a top-100 common password."),
        _l("This is a very common password."),
        _l("This is similar to a commonly used password."),
        _l("A word by itself is easy to guess."),
        _l("Names and surnames by themselves are easy to guess."),
        _l("Common names and surnames are easy to guess."),
        _l("Capitalization doesn't help very much."),
        _l("All-uppercase is almost as easy to guess as all-lowercase."),
        _l("Reversed words aren't much harder to guess."),
        _l("Predictable substitutions like '@' instead of 'a' don't help very much."),
    )
}
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

    Raises WeakPassword, whose `reason` is the sentence to show, in the language
    of the page being written. zxcvbn judges the guessability, counting the
    e-mail address and the name as known to a guesser; its warning and
    suggestions are said in the site's words (ZXCVBN_SENTENCES).
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword(str(TOO_SHORT))
    if len(password) > MAX_LENGTH:
        raise WeakPassword(str(TOO_LONG))
    if email and password.strip().lower() == email.strip().lower():
        raise WeakPassword(_("Your password must not be your e-mail address."))
    inputs = [part for part in (email, email.split("@")[0], name) if part]
    # Imported here: its word lists cost ~12 MiB, paid only by processes that need it.
    from zxcvbn import zxcvbn

    result = zxcvbn(strength_sample(password), user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        raise WeakPassword(
            guessable_reason(feedback["warning"], feedback["suggestions"])
        )


def guessable_reason(warning: str, suggestions: Iterable[str]) -> str:
    """Say why zxcvbn finds a password guessable, in the site's words.

    `warning` and `suggestions` are zxcvbn's feedback, English sentences. The
    answer is the warning (GUESSABLE when there is none, or one not in
    ZXCVBN_SENTENCES), then the suggestions, each translated, one space apart:
    "This is a very common password. Add another word or two. ...".
    """
    said = [ZXCVBN_SENTENCES.get(warning, GUESSABLE)]
    said += [ZXCVBN_SENTENCES[hint] for hint in suggestions if hint in ZXCVBN_SENTENCES]
    return " ".join(str(sentence) for sentence in said)
