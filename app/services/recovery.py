"""Recovering a lost password through a single-use link."""

from __future__ import annotations

import hashlib

from app.extensions import db
from app.models import User, UserSession
from app.services import mailer
from app.services.accounts import find_user_by_email
from app.services.passwords import check_password_strength, hash_password
from app.services.security_log import ClientInfo, record_event
from app.services.sessions import end_other_sessions
from app.services.tokens import InvalidLink, make_token, read_token

RESET_PURPOSE = "reset-password"


def _fingerprint(user: User) -> str:
    # Tied to the current hash: any password change, this reset too, voids the link.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(email: str) -> None:
    """Mail a reset link if the address has an active account; tell nobody which."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    token = make_token(RESET_PURPOSE, {"uid": user.id, "pw": _fingerprint(user)})
    mailer.queue_mail(
        user.email,
        "Reset your password",
        "reset",
        user=user,
        link=mailer.link("auth.reset", token=token),
    )
    db.session.commit()


def user_for_reset(token: str, max_age: int) -> User:
    """Return the user a genuine, unused, fresh reset link belongs to, or raise."""
    payload = read_token(RESET_PURPOSE, token, max_age)
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.is_active or payload.get("pw") != _fingerprint(user):
        raise InvalidLink()
    return user


def reset_password(
    token: str,
    new: str,
    *,
    max_age: int,
    keep: UserSession | None,
    client: ClientInfo,
) -> User:
    """Set a new password from a reset link; end every other session; mail a notice."""
    user = user_for_reset(token, max_age)
    check_password_strength(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    end_other_sessions(user, keep=keep if keep and keep.user_id == user.id else None)
    record_event(user.id, "password_reset", client)
    mailer.queue_mail(
        user.email,
        "Your password was reset",
        "password_changed",
        user=user,
        forgot_link=mailer.link("auth.forgot"),
    )
    db.session.commit()
    return user
