"""A member's data: all of it as a download, and all of it deleted on request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from app.extensions import db
from app.models import (
    OutboxMail,
    Passkey,
    PasskeyChallenge,
    RecoveryCode,
    SecurityEvent,
    SignInLockout,
    SignUpClaim,
    User,
    UserSession,
)
from app.services import mailer, passkeys, two_factor
from app.services.security_log import ClientInfo

EXPORT_FORMAT = 2  # bumped when the shape of the export changes


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_account(user_id: int) -> dict[str, Any]:
    """Return everything stored about the member, as JSON-able data.

    The shape: {"format", "profile", "settings", "sessions", "passkeys",
    "security_log"}, times as ISO 8601 in UTC. No password hash, session token
    hash, two-factor secret or passkey key is in it, nor anything they could be
    rebuilt from (a passkey's private key never leaves the member's device).
    """
    user = db.session.get_one(User, user_id)
    sessions = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id)
        .order_by(UserSession.created_at)
    )
    events = db.session.scalars(
        select(SecurityEvent)
        .where(SecurityEvent.user_id == user_id)
        .order_by(SecurityEvent.created_at, SecurityEvent.id)
    )
    return {
        "format": EXPORT_FORMAT,
        "profile": {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "bio": user.bio,
            "created_at": _time(user.created_at),
            "email_verified_at": _time(user.email_verified_at),
            "last_sign_in_at": _time(user.last_login_at),
        },
        "settings": {
            "listed_in_directory": user.is_listed,
            "two_factor": user.totp_secret is not None,
            "two_factor_since": _time(user.totp_enabled_at),
            "recovery_codes_left": two_factor.recovery_codes_left(user.id),
            "admin": user.is_admin,
            # the IANA zone times are shown in (None: UTC), and whether the
            # member chose it in the profile or it is their browser's
            "time_zone": user.time_zone,
            "time_zone_chosen": user.time_zone_chosen,
        },
        "sessions": [
            {
                "created_at": _time(user_session.created_at),
                "last_seen_at": _time(user_session.last_seen_at),
                "expires_at": _time(user_session.expires_at),
                "remembered": user_session.remember,
                "ip": user_session.ip,
                "user_agent": user_session.user_agent,
            }
            for user_session in sessions
        ],
        "passkeys": [
            {
                "name": passkey.name,
                "created_at": _time(passkey.created_at),
                "last_used_at": _time(passkey.last_used_at),
                # may be copied to the member's other devices, and is
                "synced": passkey.backed_up,
                "backup_eligible": passkey.backup_eligible,
                "transports": [t for t in passkey.transports.split(",") if t],
                "authenticator_model": passkey.aaguid,
            }
            for passkey in passkeys.list_passkeys(user_id)
        ],
        "security_log": [
            {
                "kind": event.kind,
                "at": _time(event.created_at),
                "ip": event.ip,
                "user_agent": event.user_agent,
            }
            for event in events
        ],
    }


def delete_account(
    user_id: int,
    password: str,
    code: str,
    client: ClientInfo,
    session: UserSession | None = None,
) -> None:
    """Delete the member and every row about them, then queue one goodbye mail; commit.

    Gone: the account, its sessions (every browser is signed out), its security
    log, its recovery codes and passkeys, mail still queued to the address, and
    the address's lockout and sign-up claims; the address may sign up again.
    While two-factor sign-in is on, `code` must be the app's code or a recovery
    code (else it is not read); neither is asked for while `session`'s
    reauthentication window is open. Raises WrongPassword or WrongCode
    (ReusedCode), changing nothing.
    """
    user = db.session.get_one(User, user_id)
    two_factor.confirm_password_and_code(user, password, code, client, session)
    # Read before the account goes: the goodbye is written in its language.
    email, name, language = user.email, user.name, mailer.member_language(user)
    db.session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    db.session.execute(delete(Passkey).where(Passkey.user_id == user_id))
    db.session.execute(
        delete(PasskeyChallenge).where(PasskeyChallenge.user_id == user_id)
    )
    db.session.execute(delete(SecurityEvent).where(SecurityEvent.user_id == user_id))
    db.session.execute(delete(OutboxMail).where(OutboxMail.recipient == email))
    db.session.execute(delete(SignInLockout).where(SignInLockout.email == email))
    db.session.execute(delete(SignUpClaim).where(SignUpClaim.email == email))
    db.session.delete(user)
    mailer.queue_mail(
        email,
        _l("Your Vestibule account is deleted"),
        "account_deleted",
        language=language,
        name=name,
        register_link=mailer.link("auth.register"),
    )
    db.session.commit()
