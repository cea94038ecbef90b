"""The account: who someone is and how they sign in."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
    false,
    true,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.models.base import Base, UTCDateTime, utcnow

NAME_MAX = 80


# The name search's own index, made per database by migration 0005 and kept out of
# the models on purpose: on PostgreSQL a GIN index of trigrams (pg_trgm), on SQLite an
# FTS5 table (with its shadow tables and triggers), which SQLAlchemy cannot declare.
# Schema comparisons (autogenerate, tests/test_migrations.py) skip them by name.
NAME_SEARCH_INDEX = "ix_users_name_search"
NAME_SEARCH_TABLE = "users_name_search"
# The short searches' index (migration 0012): a table of (start, name_key, user_id)
# for each word start of each listed member's name, filled from `name_starts` by
# triggers on both databases, which SQLAlchemy cannot declare either.
NAME_STARTS_TABLE = "users_name_starts"


def is_name_search(name: str | None) -> bool:
    """Tell whether a table or index of this name is the name search's own."""
    return name is not None and (
        name == NAME_SEARCH_INDEX
        or name.startswith(NAME_SEARCH_TABLE)
        or name.startswith(NAME_STARTS_TABLE)
    )


# Latin letters that compatibility decomposition leaves whole, casefolded, and the
# letters a reader types for them (migration 0007 rewrote the keys with them).
LETTER_FOLDS = str.maketrans(
    {
        "æ": "ae",
        "ð": "d",
        "đ": "d",
        "ħ": "h",
        "\u0131": "i",  # dotless i
        "ł": "l",
        "ø": "o",
        "œ": "oe",
        "ŧ": "t",
        "þ": "th",
    }
)


def name_key(name: str) -> str:
    """Return the form of a name that directory search and order use.

    Casefolded and without accents, so "ZOE" and "zoe" find "Zoë": compatibility
    decomposition (NFKD) splits "ë" into "e" and a combining mark, which is dropped,
    and "ﬁ" into "fi". Casefolded before (U+0130 "İ" folds to "i" and a mark) and
    after (NFKD of "㎒" is "MHz"). Letters it does not split fold by LETTER_FOLDS:
    "lukasz" finds "Łukasz" and "soren" "Søren". At most 160 characters.
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold().translate(LETTER_FOLDS)[: NAME_MAX * 2]


# Queries this long or shorter are looked up among the word starts; longer ones
# through the trigram index, which finds any part of a name.
WORD_START_MAX = 2
# Scripts written without spaces between words, by code point (first, last): each of
# their characters starts a word. Thai, Lao, Tibetan, Myanmar, Khmer, the Japanese
# kana, Bopomofo, the iteration marks and the CJK ideographs with their extensions.
SPACELESS = (
    (0x0E00, 0x0FFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x3005, 0x3007),
    (0x3040, 0x312F),
    (0x31A0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)


def _spaceless(ch: str) -> bool:
    point = ord(ch)
    return any(first <= point <= last for first, last in SPACELESS)


def name_starts(name: str) -> list[str]:
    """Return the short searches that find a name: its word starts, sorted.

    The first one and two characters of `name_key(name)` and of each word in it: a
    word starts at a letter or digit that follows anything else ("jo" and "j" find
    "Katherine Johnson", "br" "O'Brien"), and at every character of a script written
    without spaces, so "小龍" and "龍" find "李小龍". At most 2 characters each.
    """
    key = name_key(name)
    starts: set[str] = set()
    for place, ch in enumerate(key):
        before = key[place - 1] if place else ""
        if (
            place == 0
            or _spaceless(ch)
            or (ch.isalnum() and (not before.isalnum() or _spaceless(before)))
        ):
            starts.update(key[place : place + size] for size in (1, 2))
    return sorted(starts)


def _default_name_starts(context: DefaultExecutionContext) -> list[str]:
    # A bulk insert skips the validator below: the name it inserts gives the starts.
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return name_starts(str(parameters.get("name") or ""))


class User(Base):
    """An account whose address was verified (sign-ups wait in `SignUpClaim`).

    Also Flask-Login's user: `current_user` is the `User` of the request's session.
    """

    __tablename__ = "users"
    # AUTOINCREMENT on SQLite: an id is never given twice (see migration 0014)
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # `name_key(name)`, kept beside it so directory search and order use an index;
    # set whenever `name` is (see _keep_name_key). Compared by code point on both
    # databases (SQLite's BINARY, PostgreSQL's "C"), so the directory's order is the
    # same on both and a prefix is one range of the index, whatever the locale.
    name_key: Mapped[str] = mapped_column(
        String(NAME_MAX * 2).with_variant(
            String(NAME_MAX * 2, collation="C"), "postgresql"
        )
    )
    # `name_starts(name)`, set with name_key: the database copies it, for a listed
    # member, into the short searches' index (NAME_STARTS_TABLE, migration 0012).
    name_starts: Mapped[list[str]] = mapped_column(
        JSON, default=_default_name_starts, server_default="[]"
    )
    bio: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_listed: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Two-factor sign-in: the TOTP secret (base32) while it is on, when it was
    # turned on, and the last time step whose code was accepted (a code works once).
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    # The address moves the last undo took back, by when they were made: from the
    # move whose link was used to the undo itself. Undo links of moves in that span
    # are void (app/services/email_change.py).
    email_undo_from: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    email_undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The key the newest reset link and the newest e-mail change link carry: asking
    # for a newer link, or a move, replaces it and voids the ones mailed before.
    # None until the first one (links mailed before the keys carry none).
    reset_link_key: Mapped[str | None] = mapped_column(String(32), default=None)
    email_change_link_key: Mapped[str | None] = mapped_column(String(32), default=None)
    # The IANA zone times are shown in (app/dates.py); None shows UTC. Until the
    # member chooses one in the profile, each sign-in sets the browser's own.
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)
    # Whether the member chose `time_zone` in the profile. Defaulted by the
    # database alone, so that inserts written for an older schema (the migration
    # tests') still work.
    time_zone_chosen: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The language pages and mails are written in, by code ("de"): the sign-up
    # page's, then the member's choice in the profile. None (members from before
    # languages) follows the browser on pages; their mail is English.
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    # The account's WebAuthn user handle: 64 random bytes, made with its first
    # passkey. A passkey sign-in names the account by it, never by the address or id.
    passkey_user_handle: Mapped[bytes | None] = mapped_column(
        LargeBinary(64), default=None, unique=True, index=True
    )

    # Flask-Login's user protocol (`is_active` is the column above).
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    def get_id(self) -> str:
        """Return the id as Flask-Login wants it: a string."""
        return str(self.id)

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        self.name_key = name_key(name)
        self.name_starts = name_starts(name)
        return name

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id}>"  # no address: a repr may reach a log or a page


# Who the directory shows. The partial index below carries exactly this condition, so
# listing, counting and paging read the index alone (SQLite and PostgreSQL both need
# the query to repeat the index's condition to use it).
LISTED = and_(
    User.is_active == true(),
    User.is_listed == true(),
    User.email_verified_at.is_not(None),
)
Index(
    "ix_users_directory",
    User.name_key,
    User.id,
    sqlite_where=LISTED,
    postgresql_where=LISTED,
)
