"""The security log: what happened to an account, when, and from where."""

from __future__ import annotations

import ipaddress
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.models import SecurityEvent, SecurityEventKind

# The length of the `ip` and `user_agent` columns (security_events, user_sessions).
IP_MAX = 45
USER_AGENT_MAX = 255

# What each kind of event says to the account's owner (`describe_event`).
DESCRIPTIONS = {
    SecurityEventKind.SIGN_IN: _l("Signed in"),
    SecurityEventKind.SIGN_IN_FAILED: _l("Failed sign-in: wrong password"),
    SecurityEventKind.SIGN_OUT: _l("Signed out"),
    SecurityEventKind.SESSION_REVOKED: _l("Ended a session from the sessions page"),
    SecurityEventKind.OTHER_SESSIONS_REVOKED: _l("Ended every other session"),
    SecurityEventKind.SIGN_IN_REPORTED: _l(
        "Reported a sign-in as not yours: every session ended"
    ),
    SecurityEventKind.EMAIL_VERIFIED: _l(
        "Confirmed the e-mail address; account created"
    ),
    SecurityEventKind.EMAIL_CHANGED: _l("Moved the account to another e-mail address"),
    SecurityEventKind.EMAIL_CHANGE_UNDONE: _l(
        "Moved the account back to its old address; every session ended"
    ),
    SecurityEventKind.LOCKOUT: _l("Sign-in locked after too many failed attempts"),
    SecurityEventKind.UNLOCK: _l("Sign-in unlocked from the lockout mail"),
    SecurityEventKind.TWO_FACTOR_ON: _l("Turned on two-factor sign-in"),
    SecurityEventKind.TWO_FACTOR_OFF: _l("Turned off two-factor sign-in"),
    SecurityEventKind.TWO_FACTOR_FAILED: _l(
        "Failed sign-in: right password, wrong two-factor code"
    ),
    SecurityEventKind.RECOVERY_CODE_USED: _l("Used a recovery code"),
    SecurityEventKind.RECOVERY_CODES_RENEWED: _l(
        "Made new recovery codes; the earlier ones stopped working"
    ),
    SecurityEventKind.SIGN_IN_PASSKEY: _l("Signed in with a passkey"),
    SecurityEventKind.PASSKEY_ADDED: _l("Added a passkey"),
    SecurityEventKind.PASSKEY_REMOVED: _l("Removed a passkey"),
    SecurityEventKind.PASSKEY_CLONE_SUSPECTED: _l(
        "Refused a passkey sign-in: the passkey's counter went back, so it may "
        "have been copied"
    ),
    SecurityEventKind.DEACTIVATED: _l(
        "An administrator deactivated the account; every session ended"
    ),
    SecurityEventKind.ACTIVATED: _l("An administrator activated the account again"),
    SecurityEventKind.ADMIN_GRANTED: _l("An administrator made the account an admin"),
    SecurityEventKind.ADMIN_REVOKED: _l(
        "An administrator took the account's admin rights away"
    ),
    SecurityEventKind.LOCKOUT_CLEARED: _l("An administrator unlocked sign-in"),
    SecurityEventKind.TWO_FACTOR_OFF_BY_ADMIN: _l(
        "An administrator turned off two-factor sign-in; every session ended"
    ),
    SecurityEventKind.PASSKEY_REMOVED_BY_ADMIN: _l(
        "An administrator removed the account's passkeys"
    ),
    SecurityEventKind.PASSWORD_CHANGED: _l("Changed the password"),
    SecurityEventKind.PASSWORD_RESET: _l("Reset the password from an e-mailed link"),
}


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, as the route saw it, in the form it is stored.

    Both come from the client (its headers, or a proxy's X-Forwarded-For), so
    whoever builds one gets them tidied for any database: `ip` is an IP address
    without an IPv6 scope id, or "" for anything else; `user_agent` loses its
    control, format and other non-printing characters (PostgreSQL refuses NUL in
    text) and is cut to USER_AGENT_MAX characters. Never raises.
    """

    ip: str = ""
    user_agent: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ip", _storable_ip(self.ip))
        agent = "".join(ch for ch in self.user_agent if _printing(ch))
        object.__setattr__(self, "user_agent", agent[:USER_AGENT_MAX])


def _printing(ch: str) -> bool:
    # Unicode's "other" categories: control, format, surrogate, private, unassigned.
    return not unicodedata.category(ch).startswith("C")


def _storable_ip(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        # "fe80::1%<anything>": the scope id is free text, of any length
        address = ipaddress.IPv6Address(int(address))
    return str(address)[:IP_MAX]


@dataclass(frozen=True)
class EventPage:
    """One page of a security log, newest first: `page` of `pages`, from 1."""

    events: list[SecurityEvent]
    page: int
    pages: int


def record_event(
    user_id: int,
    kind: SecurityEventKind,
    client: ClientInfo,
    *,
    actor_id: int | None = None,
    at: datetime | None = None,
) -> None:
    """Add an event to the user's log; the caller's transaction commits it.

    `actor_id` is the admin who acted on the account, for an admin's action;
    `client` is then where the admin acted from. `at` (UTC) is when it happened,
    now unless given.
    """
    event = SecurityEvent(
        user_id=user_id,
        kind=kind,
        ip=client.ip,
        user_agent=client.user_agent,
        actor_id=actor_id,
    )
    if at is not None:
        event.created_at = at
    db.session.add(event)


def list_events(user_id: int, page: int, per_page: int) -> EventPage:
    """Return page `page` (from 1) of the user's events, newest first.

    A page number out of range gives the nearest page that exists.
    """
    total = (
        db.session.scalar(
            select(func.count(SecurityEvent.id)).where(SecurityEvent.user_id == user_id)
        )
        or 0
    )
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    events = db.session.scalars(
        select(SecurityEvent)
        .where(SecurityEvent.user_id == user_id)
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return EventPage(events=list(events), page=page, pages=pages)


def describe_event(kind: str) -> str:
    """Return what an event of this kind says to the account's owner.

    In the language of the page being written; an unknown kind is said as is.
    """
    try:
        return str(DESCRIPTIONS[SecurityEventKind(kind)])
    except ValueError:
        return kind
