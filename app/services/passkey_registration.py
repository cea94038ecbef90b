"""Adding a passkey: the options for the member's device, and keeping its answer.

py_webauthn makes the options and checks the attestation; the rules are here: who
asks is confirmed first, the credential is discoverable and verifies its user,
the member's passkeys are excluded, and a passkey is kept once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from webauthn import (
    generate_registration_options,
    options_to_json,
    verify_registration_response,
)
from webauthn.helpers import (
    generate_user_handle,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.extensions import db
from app.models import Passkey, SecurityEventKind, User, UserSession
from app.services import two_factor
from app.services.passkey_challenges import (
    CEREMONY_TIMEOUT_MS,
    MALFORMED,
    REGISTER,
    loggable,
    new_challenge,
    relying_party,
    take_challenge,
)
from app.services.passkeys import (
    ALREADY_ADDED,
    NOT_ADDED,
    PasskeyRefused,
    clean_passkey_name,
    descriptor,
    list_passkeys,
    mail_change,
)
from app.services.security_log import ClientInfo, record_event


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
    key, challenge = new_challenge(
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
        exclude_credentials=[descriptor(passkey) for passkey in list_passkeys(user.id)],
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
        expected = take_challenge(
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
        current_app.logger.info("passkey registration refused: %s", loggable(error))
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
    mail_change(user, [name], added=True, by_operator=False)
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
