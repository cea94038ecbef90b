"""Checking a passkey's answer: a sign-in naming no account, or a second step.

py_webauthn checks the signature, origin, RP ID and flags; the rules are here:
user verification every time, the passkey must be known and its user handle the
account's, and its counter must go up.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import select
from webauthn import (
    generate_authentication_options,
    options_to_json,
    verify_authentication_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_authenticator_data,
)
from webauthn.helpers.structs import (
    AuthenticationCredential,
    PublicKeyCredentialDescriptor,
    UserVerificationRequirement,
)

from app.extensions import db
from app.models import Passkey, SecurityEventKind, User
from app.models.base import utcnow
from app.services.passkey_challenges import (
    CEREMONY_TIMEOUT_MS,
    MALFORMED,
    SECOND_STEP,
    SIGN_IN,
    loggable,
    new_challenge,
    relying_party,
    take_challenge,
)
from app.services.passkeys import (
    CLONED,
    REFUSED,
    UNKNOWN,
    ClonedPasskey,
    PasskeyRefused,
    UnknownPasskey,
    descriptor,
    list_passkeys,
)
from app.services.security_log import ClientInfo, record_event


def sign_in_options() -> tuple[str, str]:
    """Start a passkey sign-in that names no account; commit.

    Returns the challenge's key, for the browser's state cookie, and the options
    for `navigator.credentials.get()` as JSON: any passkey of this site, user
    verification required (the browser lists the member's passkeys).
    """
    key, challenge = new_challenge(SIGN_IN)
    db.session.commit()
    return key, _authentication_options(challenge, [])


def second_step_options(user: User) -> tuple[str, str]:
    """Start a passkey as the second step of `user`'s sign-in; commit.

    As `sign_in_options`, for the account's own passkeys only.
    """
    key, challenge = new_challenge(SECOND_STEP, user_id=user.id)
    db.session.commit()
    return key, _authentication_options(
        challenge, [descriptor(passkey) for passkey in list_passkeys(user.id)]
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
    expected = take_challenge(keys, credential, SIGN_IN)
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
    expected = take_challenge(keys, credential, SECOND_STEP, user_id=user.id)
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
        current_app.logger.info("passkey answer refused: %s", loggable(error))
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
        current_app.logger.info("passkey answer refused: %s", loggable(error))
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
