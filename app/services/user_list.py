"""The operators' list of accounts, searched and filtered.

A page at a time for the admin area (`list_users`), whole for `flask users list`
(`all_users`).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import ColumnElement, func, or_, select

from app.extensions import db
from app.models import Passkey, User
from app.models.base import escape_like
from app.models.user import name_key

QUERY_MAX = 254


class UserFilter(StrEnum):
    """Which accounts the admin's user list shows."""

    ALL = "all"
    ACTIVE = "active"
    INACTIVE = "inactive"
    ADMINS = "admins"


FILTERS: dict[UserFilter, ColumnElement[bool] | None] = {
    UserFilter.ALL: None,
    UserFilter.ACTIVE: User.is_active.is_(True),
    UserFilter.INACTIVE: User.is_active.is_(False),
    UserFilter.ADMINS: User.is_admin.is_(True),
}


@dataclass(frozen=True)
class UserPage:
    """One page of the admin's user list: `page` of `pages` (from 1), `total` rows."""

    users: list[User]
    page: int
    pages: int
    total: int
    query: str
    filter: UserFilter
    # how many passkeys each account of the page has, by id (none: not listed)
    passkeys: dict[int, int] = field(default_factory=dict)


def list_users(query: str, filter_: UserFilter, page: int, per_page: int) -> UserPage:
    """Return page `page` (from 1) of the accounts matching `query` and the filter.

    `query` matches any part of the e-mail address or the name, ignoring case.
    Newest accounts first. A page out of range gives the nearest page that exists.
    """
    query = "".join(ch for ch in query if unicodedata.category(ch)[0] != "C")
    query = " ".join(query.split())[:QUERY_MAX]
    conditions: list[ColumnElement[bool]] = []
    chosen = FILTERS[filter_]
    if chosen is not None:
        conditions.append(chosen)
    if query:
        conditions.append(
            or_(
                User.email.contains(escape_like(query.lower()), escape="\\"),
                User.name_key.contains(escape_like(name_key(query)), escape="\\"),
            )
        )
    total = db.session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    users = db.session.scalars(
        select(User)
        .where(*conditions)
        .order_by(User.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = list(users)
    counts = db.session.execute(
        select(Passkey.user_id, func.count())
        .where(Passkey.user_id.in_([user.id for user in rows]))
        .group_by(Passkey.user_id)
    )
    return UserPage(
        rows, page, pages, total, query, filter_, {row[0]: row[1] for row in counts}
    )


def all_users(filter_: UserFilter = UserFilter.ALL) -> list[User]:
    """Return every account the filter lets through, oldest first."""
    chosen = FILTERS[filter_]
    statement = select(User).order_by(User.id)
    if chosen is not None:
        statement = statement.where(chosen)
    return list(db.session.scalars(statement))
