"""What operators do to accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.services import ServiceError
from app.services.accounts import clean_name, find_user_by_email
from app.services.email_address import normalize_email
from app.services.passwords import check_password_strength, hash_password
from app.services.sessions import end_every_session


class AdminError(ServiceError):
    """An operator's request cannot be carried out."""


def create_admin(email: str, name: str, password: str) -> User:
    """Create a verified admin, or promote the existing account with this address.

    Raises AdminError (with the sentence to show), InvalidProfile or WeakPassword,
    and then changes nothing.
    """
    email = normalize_email(email)
    if "@" not in email:
        raise AdminError("That is not an e-mail address.")
    user = find_user_by_email(email)
    if user is not None:
        # Anyone can sign up with any address; only a proven one may be promoted.
        if not user.is_verified:
            raise AdminError(
                f"{email} has an account whose address is not verified; "
                "verify it first, or use another address."
            )
        user.is_admin = True
        db.session.commit()
        return user
    name = clean_name(name)
    check_password_strength(password, email=email, name=name)
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        is_admin=True,
        email_verified_at=utcnow(),
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AdminError(
            "That address was just taken; run the command again."
        ) from None
    return user


def all_users() -> list[User]:
    """Return every account, oldest first."""
    return list(db.session.scalars(select(User).order_by(User.id)))


def deactivate_user_by_email(email: str) -> User:
    """Deactivate the account with this address and end all its sessions.

    Raises AdminError when no account has the address.
    """
    user = find_user_by_email(email)
    if user is None:
        raise AdminError(f"No account has the address {email}.")
    user.is_active = False
    end_every_session(user.id)
    db.session.commit()
    return user
