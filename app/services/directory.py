"""The member directory and profiles: who can be seen by whom.

Pages are read with prebuilt Core statements into plain records, on the request's
read connection (`reads.py`): building the query and loading twenty ORM objects
each cost more than the database's work.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.sql.elements import ColumnElement

from app.models import User
from app.models.user import LISTED
from app.services import ServiceError
from app.services.accounts import name_key
from app.services.reads import read_connection
from app.services.sessions import SignedInUser

QUERY_MAX = 80
ID_MAX = 2**31 - 1  # ids are 32-bit INTEGER on PostgreSQL: larger ones cannot exist


class MemberNotFound(ServiceError):
    """No member the viewer may see has this id."""


class Member(NamedTuple):
    """What members see of each other (a tuple: a page builds twenty)."""

    id: int
    name: str
    bio: str
    created_at: datetime
    is_listed: bool


@dataclass(frozen=True)
class MemberPage:
    """One page of the directory."""

    members: list[Member]
    page: int
    pages: int
    total: int
    query: str


_USERS = User.__table__
_MEMBER_COLUMNS = tuple(_USERS.c[name] for name in Member._fields)
_MATCH = _USERS.c.name_key.like(bindparam("pattern"), escape="\\")
_BY_ID = select(*_MEMBER_COLUMNS, _USERS.c.is_active, _USERS.c.email_verified_at).where(
    _USERS.c.id == bindparam("member_id")
)


def clean_query(query: str) -> str:
    """Return the search text without control characters, trimmed and bounded."""
    kept = "".join(ch for ch in query if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:QUERY_MAX]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_members(query: str, page: int, per_page: int) -> MemberPage:
    """Return a page of listed members whose name contains the query, by name."""
    query = clean_query(query)
    search = bool(query)
    params: dict[str, Any] = {}
    if search:
        params["pattern"] = f"%{_escape_like(name_key(query))}%"
    connection = read_connection()
    # Counted on every page: the far-end read below is only right with the true total.
    total = connection.execute(_count_statement(search), params).scalar() or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    offset = (page - 1) * per_page
    after = total - offset - per_page  # how many entries follow this page
    from_end = after < offset
    if from_end:  # walk the index from its far end: fewer entries to skip
        params |= {"limit": per_page + min(after, 0), "offset": max(after, 0)}
    else:
        params |= {"limit": per_page, "offset": offset}
    rows = connection.execute(_page_statement(search, from_end), params)
    members = [Member(*row) for row in rows]
    return MemberPage(members=members, page=page, pages=pages, total=total, query=query)


def _conditions(search: bool) -> tuple[ColumnElement[bool], ...]:
    return (LISTED, _MATCH) if search else (LISTED,)


@functools.cache
def _count_statement(search: bool) -> Select[int]:
    return select(func.count(_USERS.c.id)).where(*_conditions(search))


@functools.cache
def _page_statement(search: bool, from_end: bool) -> Select[Any]:
    """One page of members; the ids come from the directory index alone."""
    key = (_USERS.c.name_key, _USERS.c.id)
    ids = (
        select(_USERS.c.id)
        .where(*_conditions(search))
        .order_by(*((column.desc() for column in key) if from_end else key))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery()
    )
    return (
        select(*_MEMBER_COLUMNS)
        .join_from(_USERS, ids, _USERS.c.id == ids.c.id)
        .order_by(*key)
    )


def get_member(member_id: int, viewer: SignedInUser) -> Member:
    """Return the member's profile if the viewer may see it."""
    row = None
    if 0 < member_id <= ID_MAX:
        row = read_connection().execute(_BY_ID, {"member_id": member_id}).first()
    if row is None:
        raise MemberNotFound()
    member = Member(*row[: len(_MEMBER_COLUMNS)])
    if member.id == viewer.id or viewer.is_admin:
        return member
    if not (row.is_active and row.email_verified_at is not None and member.is_listed):
        raise MemberNotFound()
    return member
