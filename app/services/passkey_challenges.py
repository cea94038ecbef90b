"""Passkeys' relying party, and the challenges every ceremony answers.

The relying party is the site as passkeys know it (its id and origin, from
BASE_URL). Every ceremony answers a challenge made for it: random, stored
server-side under a key the asking browser keeps (its state cookie), used once
(taken from the table before anything is checked), void after
PASSKEY_CHALLENGE_MAX_AGE seconds, and bound to what asked for it: the account of
a second step, the account and session of a registration.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import WebAuthnException

from app.extensions import db
from app.models import PasskeyChallenge
from app.models.base import utcnow
from app.services.passkeys import CHALLENGE_GONE, REFUSED, ChallengeGone, PasskeyRefused

# The relying party's name, as the member's passkey manager shows it beside the
# address: the site's name, untranslated, as authenticator apps name it.
RP_NAME = "Vestibule"
SIGN_IN = "sign_in"
SECOND_STEP = "second_step"
REGISTER = "register"
# What the browser is given to answer in: two minutes less than the challenge
# lives, so that a slow member's answer still finds it (milliseconds).
CEREMONY_TIMEOUT_MS = 180_000


# What the library raises for an answer that does not hold, and what parsing a
# malformed one raises through it: json.loads gives RecursionError for deeply
# nested JSON ("[[[[..."), which fits in an answer and is no WebAuthnException.
MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, RecursionError)

# How much of a refusal's reason the log keeps: the library's words quote the
# answer's own (its origin, its type), which are the browser's, any length.
LOGGED_REASON_MAX = 200


def loggable(error: Exception) -> str:
    """The library's reason for a refusal, as one short line of the log.

    Quoted with its control characters escaped, so that an answer's origin
    holding a line break cannot write a line of its own into the log.
    """
    reason = str(error)
    if len(reason) > LOGGED_REASON_MAX:
        reason = reason[:LOGGED_REASON_MAX] + "..."
    return repr(reason)


@dataclass(frozen=True)
class RelyingParty:
    """The site as passkeys know it: its id (a host name) and its origin."""

    id: str
    origin: str
    name: str = RP_NAME


def relying_party() -> RelyingParty:
    """Return the relying party of the settings (PASSKEY_RP_ID, PASSKEY_ORIGIN).

    Unset, they follow BASE_URL: its host is the id, its scheme, host and port
    the origin ("https://accounts.example.org").
    """
    config = current_app.config
    base = urlsplit(str(config.get("PASSKEY_ORIGIN") or config["BASE_URL"]))
    origin = f"{base.scheme}://{base.netloc}".lower()
    return RelyingParty(
        id=str(config.get("PASSKEY_RP_ID") or base.hostname or "").lower(),
        origin=origin,
    )


def unavailable_reason(host: str) -> str | None:
    """Say why passkeys cannot work for a page served as `host`, or None when they can.

    `host` is the page's host name, without the port. Browsers refuse an IP
    address as the relying party's id, and a page whose host is not the id (or
    a name under it) cannot use passkeys made for the id.
    """
    rp = relying_party()
    if _is_ip_address(rp.id):
        return str(
            _l(
                "Passkeys are not available here: this site is set up on an IP "
                "address (%(host)s), and browsers only allow passkeys on a domain "
                "name. Open the site at a name such as localhost instead.",
                host=rp.id,
            )
        )
    host = host.lower()
    if host != rp.id and not host.endswith("." + rp.id):
        return str(
            _l(
                "Passkeys are not available at this address: open the site at "
                "%(origin)s to use them.",
                origin=rp.origin,
            )
        )
    return None


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def new_challenge(
    purpose: str, *, user_id: int | None = None, session_id: int | None = None
) -> tuple[str, bytes]:
    """Store a new challenge; return its key (for the browser) and its bytes.

    Expired challenges are swept here, so the table holds at most a few minutes
    of them. The caller commits.
    """
    max_age = timedelta(seconds=current_app.config["PASSKEY_CHALLENGE_MAX_AGE"])
    db.session.execute(
        delete(PasskeyChallenge).where(PasskeyChallenge.created_at < utcnow() - max_age)
    )
    key = secrets.token_urlsafe(32)
    challenge = secrets.token_bytes(32)
    db.session.add(
        PasskeyChallenge(
            key=key,
            challenge=challenge,
            purpose=purpose,
            user_id=user_id,
            session_id=session_id,
        )
    )
    return key, challenge


def take_challenge(
    keys: Sequence[str],
    credential: str,
    purpose: str,
    *,
    user_id: int | None = None,
    session_id: int | None = None,
) -> bytes:
    """Take (delete, committed) the browser's challenge that `credential` answers.

    `keys` are the browser's challenge keys (its state cookie keeps a few, so
    that a ceremony started in one tab is not voided by one started in another).
    The answer's client data names the challenge it signed; the row under one of
    `keys` holding it is taken. Raises ChallengeGone when there is none for this
    purpose, account and session, or it is older than PASSKEY_CHALLENGE_MAX_AGE,
    and PasskeyRefused when the answer names no challenge; either way every
    challenge of `keys` is taken. Taken before anything else is checked, so that
    an answer is checked at most once.
    """
    answered = _answered_challenge(credential)
    if not keys:
        raise ChallengeGone(CHALLENGE_GONE)
    # One statement reads and deletes it: of two requests answering with one key
    # at once, only the one whose DELETE removed the row goes on (a read, then a
    # delete, would let both through).
    taken = delete(PasskeyChallenge).where(PasskeyChallenge.key.in_(keys))
    row = None
    if answered is not None:
        row = db.session.scalars(
            taken.where(PasskeyChallenge.challenge == answered).returning(
                PasskeyChallenge
            )
        ).first()
    if row is None:
        db.session.execute(taken)  # an answer to none of them voids them all
    else:
        db.session.expunge(row)  # read below as it was, the row gone
    db.session.commit()
    if answered is None:
        raise PasskeyRefused(REFUSED)
    if row is None:
        raise ChallengeGone(CHALLENGE_GONE)
    max_age = current_app.config["PASSKEY_CHALLENGE_MAX_AGE"]
    if (
        row.purpose != purpose
        or row.user_id != user_id
        or row.session_id != session_id
        or (utcnow() - row.created_at).total_seconds() > max_age
    ):
        raise ChallengeGone(CHALLENGE_GONE)
    return row.challenge


def _answered_challenge(credential: str) -> bytes | None:
    """The challenge a browser's answer says it signed (its client data's), if any."""
    try:
        data: Any = json.loads(credential)
        client_data: Any = json.loads(
            base64url_to_bytes(data["response"]["clientDataJSON"])
        )
        return base64url_to_bytes(client_data["challenge"])
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        current_app.logger.info("passkey answer refused: %s", loggable(error))
        return None
