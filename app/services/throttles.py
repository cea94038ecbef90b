"""Clients the rate limits refused lately: noted at each refusal, listed, cleared.

The counts themselves live in the rate-limit storage (Redis in production); this
keeps, per limit and client, what an admin needs to find and clear one, and says
it in an admin's words (in the page's language): who the client is and which
limit, never the storage key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from babel.units import format_unit
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits.storage import MemoryStorage
from sqlalchemy import CursorResult, delete, select

from app.database import upsert
from app.dates import writing_locale
from app.extensions import db, limiter
from app.models import ThrottledClient, User
from app.models.base import ID_MAX, utcnow
from app.models.throttle import KEY_MAX

# Long enough for the longest limit (per hour), short enough to stay a short list.
LISTED_FOR = timedelta(days=1)

# Every limit the routes declare, by its scope (the route's endpoint, or a shared
# limit's own scope), named as an admin would say it (`lazy_gettext` strings).
# tests/test_admin.py fails when a limited route is missing here.
LIMIT_NAMES: dict[str, Any] = {
    "auth.register": _l("sign-up"),
    "auth.login_submit": _l("sign-in"),
    "auth.verify": _l("confirming a sign-up"),
    "auth.verify_resend": _l("new sign-up link"),
    "auth.forgot": _l("password reset link"),
    "auth.send_again": _l("link sent again from “check your inbox”"),
    "mail-links": _l("reset and sign-up links"),
    "auth.reset": _l("new password from a reset link"),
    "auth.two_factor": _l("two-factor code"),
    "auth.not_me": _l("“this wasn't me” link"),
    "auth.confirm_email_change": _l("confirming a new address"),
    "auth.undo_email_change": _l("undoing an address change"),
    "account-password-checks": _l("password checks in account settings"),
    "passkeys": _l("passkey sign-ins"),
    "passkey-additions": _l("adding a passkey"),
    "global": _l("every request (site-wide limit)"),
}
ANOTHER_LIMIT = _l("another limit")
WRITTEN_LIMIT = re.compile(r"(\d+) per (\d+) ([a-z]+)")


@dataclass(frozen=True)
class HeldBack:
    """One client a rate limit refused lately, in an admin's words.

    `key` is the limit's key in the storage, for the form that clears it and for
    nothing shown. `client` says who: "IP 198.51.100.23", "IP 198.51.100.23 with
    ada@example.com", "the account of Ada (ada@example.com)", "a sign-in waiting
    for its two-factor code". `name` is the limit's ("sign-in"), `per` what it
    counts per ("per IP and address"; "" when the key was not read) and `rate`
    its size ("5 per minute").
    """

    key: str
    client: str
    name: str
    per: str
    rate: str
    refusals: int
    last_refused_at: datetime

    @property
    def limit(self) -> str:
        """The limit in a few words: "sign-in, per IP and address: 5 per minute"."""
        if self.per:
            said = _(
                "%(limit)s, %(per)s: %(rate)s",
                limit=self.name,
                per=self.per,
                rate=self.rate,
            )
        else:
            said = _("%(limit)s: %(rate)s", limit=self.name, rate=self.rate)
        return str(said)


def note_refusal(key: str, client: str, scope: str, rate_limit: str) -> None:
    """Count one refusal of `client` by a limit; commit.

    `key` is the limit's key in the rate-limit storage (what clearing empties),
    `client` what the limit counts by ("198.51.100.23|ada@example.com",
    "user|7"), `scope` the limit's route endpoint or shared scope ("mail-links")
    and `rate_limit` the limit as written ("5 per 1 minute"). One INSERT ... ON
    CONFLICT DO UPDATE in each database's own dialect, as refusals arrive
    together from many workers.
    """
    now = utcnow()
    db.session.execute(
        upsert(db.session, ThrottledClient)
        .values(
            key=key[:KEY_MAX],
            client=client[:KEY_MAX],
            endpoint=scope[:100],
            rate_limit=rate_limit[:60],
            refusals=1,
            last_refused_at=now,
        )
        .on_conflict_do_update(
            index_elements=[ThrottledClient.key],
            set_={
                "refusals": ThrottledClient.refusals + 1,
                "last_refused_at": now,
            },
        )
    )
    db.session.commit()


def list_throttled(limit: int = 200) -> list[HeldBack]:
    """Return the clients refused in the last day, the latest first, in words.

    Accounts named as clients are read in one query; a row noted without a
    client (before clients were noted) lists as "a client not recognised".
    """
    since: datetime = utcnow() - LISTED_FOR
    rows = db.session.scalars(
        select(ThrottledClient)
        .where(ThrottledClient.last_refused_at >= since)
        .order_by(ThrottledClient.last_refused_at.desc())
        .limit(limit)
    ).all()
    ids = {
        int(row.client[5:])
        for row in rows
        if row.client.startswith("user|") and row.client[5:].isdecimal()
    }
    ids = {user_id for user_id in ids if 0 < user_id <= ID_MAX}
    accounts: dict[int, User] = {}
    if ids:
        found = db.session.scalars(select(User).where(User.id.in_(ids)))
        accounts = {user.id: user for user in found}
    return [
        HeldBack(
            key=row.key,
            client=_client_words(row.client, accounts),
            name=str(LIMIT_NAMES.get(row.endpoint, ANOTHER_LIMIT)),
            per=_per(row.client),
            rate=_rate_words(row.rate_limit),
            refusals=row.refusals,
            last_refused_at=row.last_refused_at,
        )
        for row in rows
    ]


# A limit's size per one of each unit the limits are written in.
PER_UNIT = {
    "second": _l("%(amount)d per second"),
    "minute": _l("%(amount)d per minute"),
    "hour": _l("%(amount)d per hour"),
    "day": _l("%(amount)d per day"),
    "month": _l("%(amount)d per month"),
    "year": _l("%(amount)d per year"),
}


def _rate(amount: int, multiples: int, unit: str) -> str:
    """Say a limit's size: "5 per minute", "10 per 2 hours"; an unknown unit as is.

    Several units are said as Babel says a length of time ("2 hours", "2 Stunden").
    """
    if unit not in PER_UNIT:  # not a unit the limits write in: as it came
        many = f"{multiples} {unit}s"
        return f"{amount} per {unit if multiples == 1 else many}"
    if multiples == 1:
        return str(PER_UNIT[unit]) % {"amount": amount}
    period = format_unit(
        multiples, f"duration-{unit}", length="long", locale=writing_locale()
    )
    return str(_("%(amount)d per %(period)s", amount=amount, period=period))


def _rate_words(written: str) -> str:
    """Say a limit as noted at its refusal ("5 per 1 minute") in words."""
    match = WRITTEN_LIMIT.fullmatch(written.strip())
    if match is None:
        return written
    amount, multiples, unit = match.groups()
    return _rate(int(amount), int(multiples), unit)


def _per(client: str) -> str:
    """Say what a limit counts per, from the client part of its key."""
    if not client:
        return ""
    if client.startswith("user|"):
        return str(_("per account"))
    if client.startswith("pending:"):
        return str(_("per sign-in"))
    if "|" in client:
        return str(_("per IP and address"))
    return str(_("per IP"))


def _client_words(client: str, accounts: dict[int, User]) -> str:
    """Say who the client is, from the client part of its key."""
    if not client:
        said = _("a client not recognised")
    elif client.startswith("user|"):
        account_id = client[5:]
        user = accounts.get(int(account_id)) if account_id.isdecimal() else None
        if user is None:
            said = _("account %(id)s, deleted since", id=account_id)
        else:
            said = _(
                "the account of %(name)s (%(email)s)", name=user.name, email=user.email
            )
    elif client.startswith("pending:"):
        said = _("a sign-in waiting for its two-factor code")
    else:
        ip, _bar, email = client.partition("|")
        if email:
            said = _("IP %(ip)s with %(email)s", ip=ip, email=email)
        else:
            said = _("IP %(ip)s", ip=ip)
    return str(said)


def clear_throttle(key: str) -> bool:
    """Empty one client's count of one limit, so it may try again now; commit.

    Returns False for a key that was not listed. The rate-limit storage is
    cleared for every worker when it is shared (Redis); with memory:// only the
    process that answers forgets it.
    """
    result = cast(
        CursorResult[Any],
        db.session.execute(
            delete(ThrottledClient).where(ThrottledClient.key == key[:KEY_MAX])
        ),
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    limiter.limiter.storage.clear(key)
    db.session.commit()
    return True


def counts_kept_per_worker() -> bool:
    """Tell whether each worker process counts the limits on its own.

    True when RATELIMIT_STORAGE_URI is memory:// (as under `make run`), or when
    Redis is unreachable and the limits have fallen back to each process's
    memory: clearing a count then reaches only the process that clears it.
    """
    in_memory = str(current_app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://")
    return in_memory or isinstance(limiter.limiter.storage, MemoryStorage)
