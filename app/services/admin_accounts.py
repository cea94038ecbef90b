"""The command line's own admin work: making an admin, finding an account by address.

Its messages stay English: operators read them (app/cli/users.py).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.services.accounts import clean_name, find_user_by_email
from app.services.admin import AdminError, UserNotFound, make_admin
from app.services.email_address import is_email_address, normalize_email
from app.services.passwords import check_password_strength, hash_password
from app.services.security_log import ClientInfo


def _checked_address(email: str) -> str:
    if not is_email_address(email):
        raise AdminError(
            f"{email.strip()!r} is not an e-mail address the sign-in form accepts."
        )
    return normalize_email(email)


def promote_existing(email: str) -> User | None:
    """Make the account with this address an admin; commit. None if there is none.

    The account keeps its name, password and whether it is active. Raises
    AdminError for a string the sign-in form would not take as an address.
    """
    user = find_user_by_email(_checked_address(email))
    if user is None:
        return None
    return make_admin(user.id, None, ClientInfo())


def create_admin(email: str, name: str, password: str) -> User:
    """Create a verified admin account with this address, name and password; commit.

    Raises AdminError (with the sentence to show; also when the address has an
    account: see promote_existing), InvalidProfile or WeakPassword, and then
    changes nothing.
    """
    email = _checked_address(email)
    if find_user_by_email(email) is not None:  # accounts exist once verified
        raise AdminError("That address has an account already.")
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


def find_user(email: str) -> User:
    """Return the account with this address; raise UserNotFound."""
    user = find_user_by_email(email)
    if user is None:
        raise UserNotFound(f"No account has the address {normalize_email(email)}.")
    return user
