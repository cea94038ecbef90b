"""The member directory and profiles: who can be seen by whom."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, func, select

from app.extensions import db
from app.models import User
from app.models.base import ID_MAX
from app.models.user import LISTED, name_key
from app.services import ServiceError

QUERY_MAX = 80

# Built once, as `db.session.get` would build it on each profile view: a tenth of
# the page (bench/README.md).
MEMBER_BY_ID = select(User).where(User.id == bindparam("member_id"))


class MemberNotFound(ServiceError):
    """No member the viewer may see has this id."""


@dataclass(frozen=True, slots=True)
class Member:
    """What the directory shows of a member."""

    id: int
    name: str
    bio: str
    created_at: datetime


@dataclass(frozen=True)
class MemberPage:
    """One page of the directory: `page` of `pages` (from 1), `total` members."""

    members: list[Member]
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
    """Return page `page` (from 1) of the listed members whose name contains `query`.

    Members are ordered by name, then by id; the search ignores case. A page
    number out of range gives the nearest page that exists.
    """
    query = clean_query(query)
    conditions: list[ColumnElement[bool]] = [LISTED]
    if query:
        pattern = f"%{_escape_like(name_key(query))}%"
        conditions.append(User.name_key.like(pattern, escape="\\"))
    # Counted on every page: the far-end read below is only right with the true total.
    total = db.session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    offset = (page - 1) * per_page
    after = total - offset - per_page  # how many members follow this page
    order = (User.name_key, User.id)
    ids = select(User.id).where(*conditions)
    if after < offset:
        # Nearer the end: walk the index from its far end, skipping fewer entries.
        ids = ids.order_by(*(column.desc() for column in order))
        ids = ids.limit(per_page + min(after, 0)).offset(max(after, 0))
    else:
        ids = ids.order_by(*order).limit(per_page).offset(offset)
    # The page's ids come from the directory index alone; then their rows.
    page_ids = ids.subquery()
    rows = db.session.execute(
        select(User.id, User.name, User.bio, User.created_at)
        .join(page_ids, User.id == page_ids.c.id)
        .order_by(*order)
    )
    members = [
        Member(id=row.id, name=row.name, bio=row.bio, created_at=row.created_at)
        for row in rows
    ]
    return MemberPage(members=members, page=page, pages=pages, total=total, query=query)


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
