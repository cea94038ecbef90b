"""The member directory and profiles: who can be seen by whom."""

from __future__ import annotations

import math
import time
import unicodedata
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Subquery, func, select
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.models import User
from app.models.user import LISTED
from app.services import ServiceError
from app.services.accounts import name_key

QUERY_MAX = 80
COUNT_CACHE_SIZE = 1000
ID_MAX = 2**31 - 1  # ids are 32-bit INTEGER on PostgreSQL: larger ones cannot exist


class MemberNotFound(ServiceError):
    """No member the viewer may see has this id."""


@dataclass(frozen=True)
class MemberPage:
    """One page of the directory."""

    members: list[User]
    page: int
    pages: int
    total: int
    query: str


def clean_query(query: str) -> str:
    """Return the search text without control characters, trimmed and bounded."""
    kept = "".join(ch for ch in query if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:QUERY_MAX]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_members(query: str, page: int, per_page: int) -> MemberPage:
    """Return a page of listed members whose name contains the query, by name."""
    query = clean_query(query)
    conditions: list[ColumnElement[bool]] = [LISTED]
    if query:
        pattern = f"%{_escape_like(name_key(query))}%"
        conditions.append(User.name_key.like(pattern, escape="\\"))
    total = _count(query, conditions)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    page_ids = _page_ids(conditions, (page - 1) * per_page, per_page, total)
    members = list(
        db.session.scalars(
            select(User)
            .join(page_ids, User.id == page_ids.c.id)
            .order_by(User.name_key, User.id)
        )
    )
    return MemberPage(members=members, page=page, pages=pages, total=total, query=query)


def _count(query: str, conditions: list[ColumnElement[bool]]) -> int:
    """Count the matches, reusing a recent count: an exact count reads every entry."""
    ttl = current_app.config["DIRECTORY_COUNT_TTL"]
    cache: dict[str, tuple[float, int]] = current_app.extensions.setdefault(
        "directory_counts", {}
    )
    now = time.time()
    cached = cache.get(query)
    if cached is not None and now - cached[0] < ttl:
        return cached[1]
    total = db.session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    if len(cache) >= COUNT_CACHE_SIZE:
        cache.clear()
    cache[query] = (now, total)
    return total


def _page_ids(
    conditions: list[ColumnElement[bool]], offset: int, limit: int, total: int
) -> Subquery:
    """Select one page of ids from the index alone, walking it from the nearer end."""
    after = total - offset - limit  # how many entries follow this page
    if after < offset:
        statement = (
            select(User.id)
            .where(*conditions)
            .order_by(User.name_key.desc(), User.id.desc())
            .limit(limit + min(after, 0))
            .offset(max(after, 0))
        )
    else:
        statement = (
            select(User.id)
            .where(*conditions)
            .order_by(User.name_key, User.id)
            .limit(limit)
            .offset(offset)
        )
    return statement.subquery()


def get_member(member_id: int, viewer: User) -> User:
    """Return the member's profile if the viewer may see it."""
    member = db.session.get(User, member_id) if 0 < member_id <= ID_MAX else None
    if member is None:
        raise MemberNotFound()
    if member.id == viewer.id or viewer.is_admin:
        return member
    if not (member.is_active and member.is_verified and member.is_listed):
        raise MemberNotFound()
    return member
