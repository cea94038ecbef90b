"""The member directory and profiles: who can be seen by whom."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    column,
    func,
    select,
    table,
    tuple_,
)

from app.extensions import db
from app.models import User
from app.models.base import ID_MAX, escape_like
from app.models.user import (
    LISTED,
    NAME_MAX,
    NAME_SEARCH_TABLE,
    NAME_STARTS_TABLE,
    WORD_START_MAX,
    name_key,
)
from app.services import ServiceError

QUERY_MAX = 80
# A trigram index needs three characters; shorter queries match the start of words.
TRIGRAM = WORD_START_MAX + 1

# Built once, as `db.session.get` would build it on each profile view: a tenth of
# the page (bench/README.md).
MEMBER_BY_ID = select(User).where(User.id == bindparam("member_id"))

# SQLite's trigram index of the listed members' name keys (migration 0005), an FTS5
# table whose rowid is the user's id; the models leave it out (app/models/user.py).
NAME_SEARCH = table(
    NAME_SEARCH_TABLE, column("rowid", Integer), column("name_key", String)
)
# The word starts of the listed members' names (migration 0012), one row each, keyed
# by (start, name_key, user_id): a short query's matches, in the directory's order.
NAME_STARTS = table(
    NAME_STARTS_TABLE,
    column("start", String),
    column("name_key", String),
    column("user_id", Integer),
)


class MemberNotFound(ServiceError):
    """No member the viewer may see has this id."""


@dataclass(frozen=True, slots=True)
class Member:
    """What the directory shows of a member."""

    id: int
    name: str
    bio: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place in the directory's order (name key, then id), as a link carries it."""

    name_key: str
    id: int

    def __str__(self) -> str:
        return f"{self.id}:{self.name_key}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """Read a cursor written by `str`; None for anything else."""
        number, colon, key = (text or "").partition(":")
        if not (colon and number.isascii() and number.isdigit()):
            return None
        if int(number) > ID_MAX or len(key) > NAME_MAX * 2:
            return None
        if any(unicodedata.category(ch)[0] == "C" for ch in key):
            return None  # no name key holds a control character (or a NUL)
        return cls(key, int(number))


@dataclass(frozen=True)
class MemberPage:
    """One page of the directory and where its neighbours start.

    `total` counts the members matching `query` up to `count_cap` + 1: above
    `count_cap` there are "more than" that many. `previous` and `next` are the
    cursors of the pages before and after this one, None at either end.
    """

    members: list[Member]
    total: int
    query: str
    previous: Cursor | None
    next: Cursor | None
    count_cap: int

    @property
    def count_is_capped(self) -> bool:
        return self.total > self.count_cap


def clean_query(query: str) -> str:
    """Return the search text without control characters, trimmed and bounded."""
    kept = "".join(ch for ch in query if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:QUERY_MAX]


def _contains(key: str) -> ColumnElement[bool]:
    """Name keys holding `key`, tested on each row: for a walk in name order."""
    return User.name_key.like(f"%{escape_like(key)}%", escape="\\")


def _fts_phrase(key: str) -> str:
    """`key` as an FTS5 phrase: its trigrams side by side, so exactly a substring."""
    return '"' + key.replace('"', '""') + '"'


def _found_by_index(key: str) -> ColumnElement[bool]:
    """Name keys holding `key` (3 characters or more), found through the trigram index.

    PostgreSQL's GIN index (pg_trgm) serves a LIKE on the column itself; SQLite's
    FTS5 table is a table of its own, matched and joined by id.
    """
    if db.engine.dialect.name == "sqlite":
        phrase = NAME_SEARCH.c.name_key.match(_fts_phrase(key))
        return User.id.in_(select(NAME_SEARCH.c.rowid).where(phrase))
    return _contains(key)


def _count(key: str, cap: int) -> int:
    """Count the listed members whose name key holds `key`, up to `cap` + 1.

    Each way reads at most `cap` + 1 entries of an index, or the matches of a query
    rare enough for the trigram index to find them.
    """
    if len(key) >= TRIGRAM and db.engine.dialect.name == "sqlite":
        # The FTS5 table holds the listed members alone: no need to join users.
        phrase = NAME_SEARCH.c.name_key.match(_fts_phrase(key))
        found = select(NAME_SEARCH.c.rowid).where(phrase)
    elif len(key) >= TRIGRAM:
        # In name order, though a count needs none: PostgreSQL then walks the name
        # index (index only, no row read) when matches are common and stops at
        # cap + 1, where unordered it read rows (1.2 ms against 9-11 ms for "son"
        # at 1M); rare matches still come from the trigram index, then a sort.
        found = (
            select(User.id)
            .where(LISTED, _found_by_index(key))
            .order_by(User.name_key, User.id)
        )
    elif key:
        found = select(NAME_STARTS.c.user_id).where(NAME_STARTS.c.start == key)
    else:
        found = select(User.id).where(LISTED)
    capped = found.limit(cap + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(capped)) or 0


def list_members(
    query: str,
    per_page: int,
    count_cap: int,
    *,
    page: int = 1,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> MemberPage:
    """Return a page of the listed members whose name holds `query`, in name order.

    The search ignores case and accents ("zoe" finds "Zoë") and matches any part of
    a name from three characters on, the start of any word below that (every
    character of a script written without spaces starts one). The page
    follows `after` or precedes `before` (cursors of earlier pages), else is page
    number `page` (from 1) of the first `count_cap` members; a number past the end
    gives the last of those pages. Members are ordered by name key, then by id.

    Matches are counted up to `count_cap` + 1, as large sites do ("more than 1,000
    members"): a full count would read every match, a share of a million members.
    """
    query = clean_query(query)
    key = name_key(query)
    total = _count(key, count_cap)
    # Few matches: the trigram index finds them all and they are sorted. Many: the
    # walk in name order (ix_users_directory) tests each name and stops at the page.
    # A short query: the range of its word start, in name order (users_name_starts).
    sort_matches = len(key) >= TRIGRAM and total <= count_cap
    matches: Select[Any, Any] = select(User.id, User.name_key).where(LISTED)
    if len(key) >= TRIGRAM:
        matches = matches.where(
            _found_by_index(key) if sort_matches else _contains(key)
        )
    elif key:
        matches = select(
            NAME_STARTS.c.user_id.label("id"), NAME_STARTS.c.name_key
        ).where(NAME_STARTS.c.start == key)
    if before is None and after is None:
        last_page = max(1, -(-min(total, count_cap) // per_page))
        page = min(max(1, page), last_page)
    else:
        page = 1
    rows = _read_page(matches, sort_matches, per_page, page, after, before)
    if before is not None and len(rows) <= per_page:
        # Nothing precedes these members: the page before is the first page.
        before = None
        rows = _read_page(matches, sort_matches, per_page, 1, None, None)
    extra = len(rows) > per_page
    if before is not None:
        shown = rows[1:] if extra else rows
        has_previous, has_next = extra, True
    else:
        shown = rows[:per_page]
        has_previous, has_next = page > 1 or after is not None, extra
    members = [
        Member(id=row.id, name=row.name, bio=row.bio, created_at=row.created_at)
        for row in shown
    ]
    return MemberPage(
        members=members,
        total=total,
        query=query,
        previous=Cursor(shown[0].name_key, shown[0].id)
        if shown and has_previous
        else None,
        next=Cursor(shown[-1].name_key, shown[-1].id) if shown and has_next else None,
        count_cap=count_cap,
    )


def _read_page(
    ids: Select[Any, Any],
    sort_matches: bool,
    per_page: int,
    page: int,
    after: Cursor | None,
    before: Cursor | None,
) -> list[Any]:
    """Read per_page + 1 members in name order, to know whether more follow.

    `ids` selects the matches' `id` and `name_key`, from an index in that order.
    """
    place = tuple_(ids.selected_columns.name_key, ids.selected_columns.id)
    if after is not None:
        ids = ids.where(place > tuple_(after.name_key, after.id))
    if before is not None:
        ids = ids.where(place < tuple_(before.name_key, before.id))
    if sort_matches:
        # Every match first (MATERIALIZED: PostgreSQL may not fold it into a walk of
        # the name order, which would test every member), then the page of them.
        matches = ids.cte("matches").prefix_with("MATERIALIZED")
        ids = select(matches.c.id, matches.c.name_key)
    order = [ids.selected_columns.name_key, ids.selected_columns.id]
    if before is not None:
        order = [column.desc() for column in order]
    page_ids = (
        ids.order_by(*order).limit(per_page + 1).offset((page - 1) * per_page)
    ).subquery()
    # The page's ids come from an index alone; then their rows.
    result = db.session.execute(
        select(User.id, User.name_key, User.name, User.bio, User.created_at)
        .join(page_ids, User.id == page_ids.c.id)
        .order_by(User.name_key, User.id)
    )
    return list(result)


def get_member(member_id: int, viewer: User) -> User:
    """Return the member with this id if the viewer may see their profile.

    Everyone may see a listed, active, verified member; members see themselves
    and admins see everyone. Raises MemberNotFound otherwise, as for an unknown id.
    """
    member = None
    if 0 < member_id <= ID_MAX:
        member = db.session.scalars(MEMBER_BY_ID, {"member_id": member_id}).first()
    if member is None:
        raise MemberNotFound()
    if member.id == viewer.id or viewer.is_admin:
        return member
    if not (member.is_active and member.is_verified and member.is_listed):
        raise MemberNotFound()
    return member
