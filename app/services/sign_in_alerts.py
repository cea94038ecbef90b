"""Sign-in alerts: the owner hears of a sign-in from a browser and IP not seen before.

The mail names the time, IP and browser, with a "this wasn't me" link that ends
every session of the account and mails a link to choose a new password. It is
written in the member's language, its time in the member's zone.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.dates import format_date_time, zone_info
from app.extensions import db
from app.models import SecurityEvent, SecurityEventKind, User
from app.models.base import utcnow
from app.models.security_event import SIGN_IN_KINDS
from app.services import mailer, passkeys
from app.services.accounts import lock_password
from app.services.browsers import browser_and_system, describe_browser
from app.services.recovery import queue_reset_link
from app.services.security_log import ClientInfo, record_event
from app.services.sessions import end_every_session
from app.services.tokens import (
    InvalidLink,
    last_move,
    make_token,
    password_fingerprint,
    read_token,
)

NOT_ME_PURPOSE = "sign-in-not-me"
# The events that show a browser and IP pair belongs to the owner.
KNOWN_BY = (*SIGN_IN_KINDS, SecurityEventKind.EMAIL_VERIFIED)


def alert_if_new(user: User, client: ClientInfo) -> None:
    """Mail the owner when this sign-in's browser and IP pair is new to the account.

    Call before the sign-in is recorded; the caller's transaction commits the mail.
    An account's first sign-in (its own sign-up's browser) raises no alert.
    """
    known = db.session.execute(
        select(SecurityEvent.ip, SecurityEvent.user_agent)
        .where(SecurityEvent.user_id == user.id, SecurityEvent.kind.in_(KNOWN_BY))
        .distinct()
    )
    pairs = {(row.ip, _browser(row.user_agent)) for row in known}
    if not pairs or (client.ip, _browser(client.user_agent)) in pairs:
        return
    # Bound to the address it is mailed to, the latest move and the password. A
    # newer alert leaves it alive: nobody asked for either, and a thief's next
    # sign-in must not void the owner's link.
    payload = {
        "uid": user.id,
        "email": user.email,
        "moves": last_move(user.id),
        # when, so that a report removes the passkeys added from then on
        "at": utcnow().isoformat(),
    }
    token = make_token(NOT_ME_PURPOSE, {**payload, "pw": password_fingerprint(user)})
    language = mailer.member_language(user)
    with force_locale(language):  # the date and the browser, as the mail says them
        when = format_date_time(utcnow(), zone_info(user.time_zone))
        browser = describe_browser(client.user_agent)
    mailer.queue_mail(
        user.email,
        _l("A new sign-in to your Vestibule account"),
        "sign_in_alert",
        language=language,
        user=user,
        when=when,
        ip=client.ip,  # "" says "unknown"
        browser=browser,
        link=mailer.link("auth.not_me", token=token),
    )


def _browser(user_agent: str) -> str:
    # The browser and system without versions, so that an update is no new browser;
    # an agent nobody recognises stands for itself.
    browser, system = browser_and_system(user_agent, version=False)
    return f"{browser} on {system}" if browser else user_agent


def read_not_me_link(token: str) -> User:
    """Return the account a genuine, unused "this wasn't me" link names.

    Raises ExpiredLink for a link older than NOT_ME_TOKEN_MAX_AGE seconds,
    InvalidLink for one tampered with or used, or whose account has moved to another
    address (also when it moved back since), changed its password, or is gone or
    deactivated since.
    """
    max_age: int = current_app.config["NOT_ME_TOKEN_MAX_AGE"]
    payload = read_token(NOT_ME_PURPOSE, token, max_age)
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.is_active or user.email != payload.get("email"):
        raise InvalidLink()
    # links mailed before they carried the latest move are judged by address
    if "moves" in payload and payload["moves"] != last_move(user.id):
        raise InvalidLink()
    if payload.get("pw") != password_fingerprint(user):
        raise InvalidLink()  # used (it locks the password), or the password changed
    return user


def report_sign_in(token: str, client: ClientInfo) -> User:
    """Lock the link's account out of whoever signed in, and mail a reset; commit.

    The password they used is replaced by one nobody knows, every session ends,
    and the owner's address gets a reset link. Passkeys added since the reported
    sign-in are removed (whoever signed in could have added one, which a new
    password would not stop); those from before stay. Raises what
    `read_not_me_link` raises, changing nothing.
    """
    user = read_not_me_link(token)
    at = read_token(NOT_ME_PURPOSE, token, current_app.config["NOT_ME_TOKEN_MAX_AGE"])
    if isinstance(at.get("at"), str):  # links mailed before carry no time
        passkeys.remove_passkeys_added_since(
            user, datetime.fromisoformat(at["at"]), client
        )
    end_every_session(user.id)
    lock_password(user)
    record_event(user.id, SecurityEventKind.SIGN_IN_REPORTED, client)
    queue_reset_link(user)
    db.session.commit()
    return user
