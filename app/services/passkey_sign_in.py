"""Signing in with a passkey: on its own, or as the second step after a password.

Both end in the sign-in service's `open_session`, committed once after the
challenge was taken (app/services/passkey_challenges.py), as every way in does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.extensions import db
from app.models import SecurityEventKind, User
from app.services import lockouts, passkey_assertions, two_factor
from app.services.security_log import ClientInfo
from app.services.sign_in import Inactive, SignedIn, open_session


def sign_in_with_passkey(
    challenge_keys: Sequence[str],
    credential: str,
    client: ClientInfo,
    *,
    remember: bool,
    time_zone: str,
) -> SignedIn:
    """Open a session for the account whose passkey answered; commit once.

    `challenge_keys` name this browser's challenges, `credential` is the
    browser's answer as JSON. A passkey checked with user verification is both
    factors: no second step follows, whatever the account's two-factor. A lockout
    of the address (wrong passwords, which a passkey does not guess) does not
    stop it, and it ends the address's failure count, as a passed second step
    does. Raises what `passkeys.check_sign_in` raises, or Inactive for an account
    an admin deactivated.
    """
    user = passkey_assertions.check_sign_in(challenge_keys, credential, client)
    if not user.is_active:
        db.session.rollback()  # the passkey's use is not noted
        raise Inactive()
    return _passkey_session(user, client, remember=remember, time_zone=time_zone)


def finish_second_step_with_passkey(
    user: User,
    challenge_keys: Sequence[str],
    credential: str,
    client: ClientInfo,
    *,
    remember: bool,
    time_zone: str,
    trust: bool = False,
) -> SignedIn:
    """Pass the second step with one of the account's passkeys; open a session.

    As `finish_second_step` with a code, committed once. A refused answer is not
    a guess at anything (a passkey's key cannot be guessed), so it is not counted.
    Raises LockedOut (checking nothing) while the address is locked, or what
    `passkeys.check_second_step` raises.
    """
    lockouts.check_lockout(user.email)
    passkey_assertions.check_second_step(user, challenge_keys, credential, client)
    signed_in = _passkey_session(user, client, remember=remember, time_zone=time_zone)
    return replace(
        signed_in,
        trusted_browser=two_factor.trusted_browser_token(user) if trust else None,
    )


def _passkey_session(
    user: User, client: ClientInfo, *, remember: bool, time_zone: str
) -> SignedIn:
    """End the address's failure count and open a passkey's session; commit once."""
    lockouts.end_lockout(user.email)
    signed_in = open_session(
        user,
        client,
        remember=remember,
        time_zone=time_zone,
        kind=SecurityEventKind.SIGN_IN_PASSKEY,
    )
    db.session.commit()
    return signed_in
