"""Passkeys: adding, naming and removing them, and checking what a browser signs.

py_webauthn makes the options and checks the answers (attestation, signatures,
origin, RP ID, flags); this module keeps the rest of the rules. Every ceremony
answers a challenge made for it: random, stored server-side under a key the
asking browser keeps (its state cookie), used once (taken from the table before
anything is checked), void after PASSKEY_CHALLENGE_MAX_AGE seconds, and bound to
what asked for it: the account of a second step, the account and session of a
registration. User verification is required every time, so a passkey sign-in is
a second factor in itself. A passkey names its account by the account's random
user handle, never by its address or id.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    generate_user_handle,
    parse_authentication_credential_json,
    parse_authenticator_data,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.extensions import db
from app.models import (
    Passkey,
    PasskeyChallenge,
    SecurityEventKind,
    User,
    UserSession,
)
from app.models.base import ID_MAX, utcnow
from app.models.passkey import PASSKEY_NAME_MAX
from app.services import ServiceError, mailer, two_factor
from app.services.security_log import ClientInfo, record_event

# The relying party's name, as the member's passkey manager shows it beside the
# address: the site's name, untranslated, as authenticator apps name it.
RP_NAME = "Vestibule"
SIGN_IN = "sign_in"
SECOND_STEP = "second_step"
REGISTER = "register"
# What the browser is given to answer in: two minutes less than the challenge
# lives, so that a slow member's answer still finds it (milliseconds).
CEREMONY_TIMEOUT_MS = 180_000


class PasskeyError(ServiceError):
    """A passkey ceremony or change is refused; the message says why."""


class ChallengeGone(PasskeyError):
    """No challenge of this browser waits for this ceremony, or it expired."""


class PasskeyRefused(PasskeyError):
    """The answer does not hold: wrong site, unverified user, bad signature..."""


class UnknownPasskey(PasskeyError):
    """No account has this passkey, or not the account it claims or must be."""


class ClonedPasskey(PasskeyError):
    """The passkey's signature counter went back: a copy of it may be in use."""


class PasskeyNotFound(PasskeyError):
    """The member has no passkey of this id."""


class InvalidPasskeyName(PasskeyError):
    """The name is empty or too long."""


# What the library raises for an answer that does not hold, and what parsing a
# malformed one raises through it: json.loads gives RecursionError for deeply
# nested JSON ("[[[[..."), which fits in an answer and is no WebAuthnException.
MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, RecursionError)

# How much of a refusal's reason the log keeps: the library's words quote the
# answer's own (its origin, its type), which are the browser's, any length.
LOGGED_REASON_MAX = 200


def _loggable(error: Exception) -> str:
    """The library's reason for a refusal, as one short line of the log.

    Quoted with its control characters escaped, so that an answer's origin
    holding a line break cannot write a line of its own into the log.
    """
    reason = str(error)
    if len(reason) > LOGGED_REASON_MAX:
        reason = reason[:LOGGED_REASON_MAX] + "..."
    return repr(reason)


CHALLENGE_GONE = _l(
    "This passkey request expired or was already used. Please try again."
)
REFUSED = _l(
    "Your passkey's answer could not be checked. Please try again; if it keeps "
    "failing, sign in with your password."
)
# the same refusal while adding one: the member is signed in, and nothing was added
NOT_ADDED = _l(
    "Your passkey's answer could not be checked. Please try again; nothing was "
    "added to your account."
)
UNKNOWN = _l(
    "This passkey does not belong to an account here, or not to this account. It "
    "may have been removed; sign in with your password."
)
ALREADY_ADDED = _l("This passkey is already added to an account here.")
CLONED = _l(
    "This passkey was refused: its counter went back, which happens when a copy "
    "of it is used. Sign in another way and check your passkeys."
)


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


# -- the member's passkeys ------------------------------------------------------------


def list_passkeys(user_id: int) -> list[Passkey]:
    """Return the member's passkeys, oldest first."""
    return list(
        db.session.scalars(
            select(Passkey)
            .where(Passkey.user_id == user_id)
            .order_by(Passkey.created_at, Passkey.id)
        )
    )


def count_passkeys(user_id: int) -> int:
    """Return how many passkeys the member has."""
    return (
        db.session.scalar(
            select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
        )
        or 0
    )


def get_passkey(user_id: int, passkey_id: int) -> Passkey:
    """Return the member's passkey of this id; raise PasskeyNotFound otherwise."""
    # a number past the column's range names no row (and would fail the query)
    passkey = db.session.get(Passkey, passkey_id) if 0 < passkey_id <= ID_MAX else None
    if passkey is None or passkey.user_id != user_id:
        raise PasskeyNotFound(
            _l("That passkey is not one of yours; it may have been removed already.")
        )
    return passkey


def clean_passkey_name(name: str) -> str:
    """Return the name as stored: whitespace runs made one space, ends trimmed.

    Raises InvalidPasskeyName when nothing is left or it is longer than
    PASSKEY_NAME_MAX characters.
    """
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidPasskeyName(_l("Give the passkey a name."))
    if len(cleaned) > PASSKEY_NAME_MAX:
        raise InvalidPasskeyName(
            _l(
                "A passkey's name can be at most %(max)d characters.",
                max=PASSKEY_NAME_MAX,
            )
        )
    return cleaned


def rename_passkey(user_id: int, passkey_id: int, name: str) -> Passkey:
    """Give the member's passkey a new name; commit. Raises PasskeyNotFound or
    InvalidPasskeyName, changing nothing."""
    passkey = get_passkey(user_id, passkey_id)
    passkey.name = clean_passkey_name(name)
    db.session.commit()
    return passkey


def remove_passkey(
    user_id: int,
    passkey_id: int,
    client: ClientInfo,
    *,
    actor: User | None = None,
) -> Passkey:
    """Remove one of the member's passkeys, log it and mail the owner; commit.

    `actor` is the admin who removed it (None: the member). The account keeps its
    password, so a passkey is never the last way to sign in. Raises
    PasskeyNotFound, changing nothing.
    """
    passkey = get_passkey(user_id, passkey_id)
    user = db.session.get_one(User, user_id)
    db.session.delete(passkey)
    record_event(
        user_id,
        SecurityEventKind.PASSKEY_REMOVED_BY_ADMIN
        if actor is not None
        else SecurityEventKind.PASSKEY_REMOVED,
        client,
        actor_id=actor.id if actor is not None else None,
    )
    _mail_change(user, [passkey.name], added=False, by_operator=actor is not None)
    db.session.commit()
    return passkey


def remove_every_passkey(user: User, actor: User | None, client: ClientInfo) -> int:
    """Remove all of an account's passkeys for an operator; log, mail; commit.

    Returns how many were removed (0 changes, logs and mails nothing).
    """
    names = [passkey.name for passkey in list_passkeys(user.id)]
    if not names:
        return 0
    db.session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    record_event(
        user.id,
        SecurityEventKind.PASSKEY_REMOVED_BY_ADMIN,
        client,
        actor_id=actor.id if actor is not None else None,
    )
    _mail_change(user, names, added=False, by_operator=True)
    db.session.commit()
    return len(names)


def remove_passkeys_added_since(
    user: User, moment: datetime, client: ClientInfo
) -> list[str]:
    """Remove the passkeys `user` added at `moment` (UTC) or later; the caller commits.

    For a sign-in the owner reported as not theirs: whoever signed in may have
    added a passkey of their own. Each is logged and the owner mailed their names.
    Returns the names removed.
    """
    added = [p for p in list_passkeys(user.id) if p.created_at >= moment]
    for passkey in added:
        db.session.delete(passkey)
    for passkey in added:
        record_event(user.id, SecurityEventKind.PASSKEY_REMOVED, client)
        _mail_change(user, [passkey.name], added=False, by_operator=False)
    return [passkey.name for passkey in added]


def _mail_change(
    user: User, names: list[str], *, added: bool, by_operator: bool
) -> None:
    """Queue the notice of passkeys added or removed (`names`); the caller commits."""
    if added:
        subject = _l("A passkey was added to your account")
    elif len(names) == 1:
        subject = _l("A passkey was removed from your account")
    else:
        subject = _l("Passkeys were removed from your account")
    mailer.queue_mail(
        user.email,
        subject,
        "passkey_changed",
        language=mailer.member_language(user),
        name=user.name,
        passkeys=names,
        added=added,
        by_operator=by_operator,
        passkeys_link=mailer.link("account.passkeys"),
        forgot_link=mailer.link("auth.forgot"),
    )


# -- challenges -----------------------------------------------------------------------


def _new_challenge(
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


def _take_challenge(
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
        current_app.logger.info("passkey answer refused: %s", _loggable(error))
        return None


# -- registration ---------------------------------------------------------------------


def registration_options(
    user: User,
    user_session: UserSession,
    password: str,
    code: str,
    client: ClientInfo,
) -> tuple[str, str]:
    """Start adding a passkey to the signed-in member's account; commit.

    Who asks is confirmed first: the password, and while two-factor is on a code,
    unless the session's reauthentication window is open (then neither is read).
    The challenge, bound to this session, is the proof of it when the passkey
    comes back. Raises WrongPassword or WrongCode (ReusedCode), changing nothing.
    Returns the challenge's key,
    for the browser's state cookie, and the options for
    `navigator.credentials.create()` as JSON: a discoverable credential with
    user verification, excluding the member's passkeys. Gives the account its
    user handle if it has none.
    """
    two_factor.confirm_password_and_code(user, password, code, client, user_session)
    if user.passkey_user_handle is None:
        # Only where none is set yet, then read back: of two sessions making the
        # account's first passkey at once, both use the handle the first one set.
        db.session.execute(
            update(User)
            .where(User.id == user.id, User.passkey_user_handle.is_(None))
            .values(passkey_user_handle=generate_user_handle())
        )
        db.session.refresh(user, ["passkey_user_handle"])
    rp = relying_party()
    key, challenge = _new_challenge(
        REGISTER, user_id=user.id, session_id=user_session.id
    )
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user.passkey_user_handle,
        user_name=user.email,
        user_display_name=user.name,
        challenge=challenge,
        timeout=CEREMONY_TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            _descriptor(passkey) for passkey in list_passkeys(user.id)
        ],
    )
    db.session.commit()
    return key, options_to_json(options)


def add_passkey(
    user: User,
    user_session: UserSession,
    keys: Sequence[str],
    credential: str,
    name: str,
    client: ClientInfo,
) -> Passkey:
    """Check the browser's new passkey against its challenge, one of `keys`; keep it.

    `credential` is `navigator.credentials.create()`'s answer as JSON; `name` the
    member's name for it. Writes the security log, mails the owner; commits.
    Raises InvalidPasskeyName (the challenge is kept for another try),
    ChallengeGone, PasskeyRefused (not made for this site, without user
    verification, malformed, or already this site's), changing nothing.
    """
    name = clean_passkey_name(name)
    try:
        expected = _take_challenge(
            keys, credential, REGISTER, user_id=user.id, session_id=user_session.id
        )
    except PasskeyRefused:
        raise PasskeyRefused(NOT_ADDED) from None
    rp = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=expected,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except MALFORMED as error:
        current_app.logger.info("passkey registration refused: %s", _loggable(error))
        raise PasskeyRefused(NOT_ADDED) from None
    known = db.session.scalars(
        select(Passkey.id).where(Passkey.credential_id == verified.credential_id)
    ).first()
    if known is not None:
        raise PasskeyRefused(ALREADY_ADDED)
    passkey = Passkey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=",".join(_transports(credential)),
        backup_eligible=verified.credential_device_type == "multi_device",
        backed_up=verified.credential_backed_up,
        aaguid=verified.aaguid,
        name=name,
    )
    db.session.add(passkey)
    record_event(user.id, SecurityEventKind.PASSKEY_ADDED, client)
    _mail_change(user, [name], added=True, by_operator=False)
    try:
        db.session.commit()
    except IntegrityError:  # another request stored this credential meanwhile
        db.session.rollback()
        raise PasskeyRefused(ALREADY_ADDED) from None
    return passkey


def _transports(credential: str) -> list[str]:
    """The transports the browser reported for a new credential, known ones only."""
    try:
        data: Any = json.loads(credential)
        given = data["response"].get("transports") or []
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return []
    if not isinstance(given, list):  # the browser's is; anything else says nothing
        return []
    known = {transport.value for transport in AuthenticatorTransport}
    return [value for value in given if isinstance(value, str) and value in known]


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    known = {transport.value for transport in AuthenticatorTransport}
    return PublicKeyCredentialDescriptor(
        id=passkey.credential_id,
        transports=[
            AuthenticatorTransport(value)
            for value in passkey.transports.split(",")
            if value in known
        ],
    )


# -- signing in -----------------------------------------------------------------------


def sign_in_options() -> tuple[str, str]:
    """Start a passkey sign-in that names no account; commit.

    Returns the challenge's key, for the browser's state cookie, and the options
    for `navigator.credentials.get()` as JSON: any passkey of this site, user
    verification required (the browser lists the member's passkeys).
    """
    key, challenge = _new_challenge(SIGN_IN)
    db.session.commit()
    return key, _authentication_options(challenge, [])


def second_step_options(user: User) -> tuple[str, str]:
    """Start a passkey as the second step of `user`'s sign-in; commit.

    As `sign_in_options`, for the account's own passkeys only.
    """
    key, challenge = _new_challenge(SECOND_STEP, user_id=user.id)
    db.session.commit()
    return key, _authentication_options(
        challenge, [_descriptor(passkey) for passkey in list_passkeys(user.id)]
    )


def _authentication_options(
    challenge: bytes, allowed: list[PublicKeyCredentialDescriptor]
) -> str:
    options = generate_authentication_options(
        rp_id=relying_party().id,
        challenge=challenge,
        timeout=CEREMONY_TIMEOUT_MS,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options)


def check_sign_in(keys: Sequence[str], credential: str, client: ClientInfo) -> User:
    """Return the account whose passkey signed a challenge of the browser's `keys`.

    `credential` is `navigator.credentials.get()`'s answer as JSON. The passkey
    must be known, its user handle the account's, the signature good, made for
    this site's origin and id with user verification, and its counter must not
    have gone back. Notes the passkey's use (the caller commits it with the
    sign-in). Raises ChallengeGone, PasskeyRefused, UnknownPasskey or
    ClonedPasskey (logged to the account, committed).
    """
    expected = _take_challenge(keys, credential, SIGN_IN)
    parsed = _parse(credential)
    passkey = _known_passkey(parsed)
    user = db.session.get_one(User, passkey.user_id)
    handle = parsed.response.user_handle
    if (
        handle is None
        or user.passkey_user_handle is None
        or not secrets.compare_digest(handle, user.passkey_user_handle)
    ):
        raise UnknownPasskey(UNKNOWN)
    _check_signature(passkey, parsed, expected, client)
    return user


def check_second_step(
    user: User, keys: Sequence[str], credential: str, client: ClientInfo
) -> None:
    """Check a passkey answer as `user`'s second step, as `check_sign_in` does.

    The passkey must be `user`'s own. Raises what `check_sign_in` raises.
    """
    expected = _take_challenge(keys, credential, SECOND_STEP, user_id=user.id)
    parsed = _parse(credential)
    passkey = _known_passkey(parsed)
    handle = parsed.response.user_handle
    if passkey.user_id != user.id or (
        handle is not None
        and (
            user.passkey_user_handle is None
            or not secrets.compare_digest(handle, user.passkey_user_handle)
        )
    ):
        raise UnknownPasskey(UNKNOWN)
    _check_signature(passkey, parsed, expected, client)


def _parse(credential: str) -> AuthenticationCredential:
    try:
        return parse_authentication_credential_json(credential)
    except MALFORMED as error:
        current_app.logger.info("passkey answer refused: %s", _loggable(error))
        raise PasskeyRefused(REFUSED) from None


def _known_passkey(parsed: AuthenticationCredential) -> Passkey:
    passkey = db.session.scalars(
        select(Passkey).where(Passkey.credential_id == parsed.raw_id)
    ).first()
    if passkey is None:
        raise UnknownPasskey(UNKNOWN)
    return passkey


def _check_signature(
    passkey: Passkey,
    parsed: AuthenticationCredential,
    expected: bytes,
    client: ClientInfo,
) -> None:
    """Check the answer's signature, origin, id and flags, then its counter.

    The library is given a counter of 0, so that it checks the signature alone:
    a counter that went back is then told apart from a forgery, and logged as a
    possible copy only when the passkey really signed it (WebAuthn §7.2, step
    21: refused when either counter is not 0 and the new one is not greater).
    """
    rp = relying_party()
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=expected,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except MALFORMED as error:
        current_app.logger.info("passkey answer refused: %s", _loggable(error))
        raise PasskeyRefused(REFUSED) from None
    counter = parse_authenticator_data(parsed.response.authenticator_data).sign_count
    if (counter or passkey.sign_count) and counter <= passkey.sign_count:
        record_event(passkey.user_id, SecurityEventKind.PASSKEY_CLONE_SUSPECTED, client)
        db.session.commit()
        current_app.logger.warning(
            "passkey %d of account %d: counter went back (%d after %d), refused",
            passkey.id,
            passkey.user_id,
            counter,
            passkey.sign_count,
        )
        raise ClonedPasskey(CLONED)
    passkey.sign_count = verified.new_sign_count
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = utcnow()
