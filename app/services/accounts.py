"""Creating an account, proving its e-mail, and changing what its owner keeps."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.services import ServiceError, mailer
from app.services.passwords import (
    check_password_strength,
    hash_password,
    verify_password,
)
from app.services.security_log import ClientInfo, record_event
from app.services.sessions import ActiveSession, end_other_sessions
from app.services.tokens import InvalidLink, make_token, read_token

VERIFY_PURPOSE = "verify-email"
NAME_MAX = 80
BIO_MAX = 500


class InvalidProfile(ServiceError):
    """A name or bio breaks the rules."""


class AlreadyVerified(ServiceError):
    """The address behind the link was verified before."""


class WrongPassword(ServiceError):
    """The current password given is not the user's."""


def normalize_email(email: str) -> str:
    """Return the form in which e-mail addresses are stored and compared."""
    return email.strip().lower()


def clean_name(name: str) -> str:
    """Return the name as stored, or raise if it cannot be one."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidProfile(f"Your name must be 1 to {NAME_MAX} characters.")
    return name


def name_key(name: str) -> str:
    """Return the casefolded name that directory search and order use."""
    return name.casefold()[: NAME_MAX * 2]


_BY_EMAIL = select(User).where(User.email == bindparam("email"))


def find_user_by_email(email: str) -> User | None:
    """Return the account with this address, if there is one."""
    return db.session.scalars(_BY_EMAIL, {"email": normalize_email(email)}).first()


def _queue_verification(user: User) -> None:
    token = make_token(VERIFY_PURPOSE, {"uid": user.id, "email": user.email})
    mailer.queue_mail(
        user.email,
        "Confirm your e-mail address",
        "verify",
        user=user,
        link=mailer.link("auth.verify", token=token),
    )


def register_user(name: str, email: str, password: str) -> None:
    """Create an unverified account and mail its link, or warn the owner of the address.

    Both outcomes look the same to the person signing up, so the form tells
    nobody which addresses have accounts.
    """
    email = normalize_email(email)
    name = clean_name(name)
    check_password_strength(password, email=email, name=name)
    user = User(
        name=name,
        name_key=name_key(name),
        email=email,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the database, not a read-then-write, decides uniqueness
        db.session.rollback()
        _notify_existing_owner(email)
    else:
        _queue_verification(user)
    db.session.commit()


def _notify_existing_owner(email: str) -> None:
    owner = find_user_by_email(email)
    if owner is None:  # pragma: no cover - the row that collided was deleted meanwhile
        return
    if not owner.is_verified:
        _queue_verification(owner)
        return
    mailer.queue_mail(
        owner.email,
        "Someone tried to sign up with your address",
        "already_registered",
        user=owner,
        login_link=mailer.link("auth.login"),
        forgot_link=mailer.link("auth.forgot"),
    )


def verify_email(token: str, max_age: int, client: ClientInfo) -> User:
    """Mark the address in a genuine verify link as proven; return its user."""
    payload = read_token(VERIFY_PURPOSE, token, max_age)
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email") or not user.is_active:
        raise InvalidLink()
    if user.is_verified:
        raise AlreadyVerified()
    user.email_verified_at = utcnow()
    record_event(user.id, "email_verified", client)
    db.session.commit()
    return user


def resend_verification(email: str) -> None:
    """Mail a fresh verify link if the address has an unverified account."""
    user = find_user_by_email(email)
    if user is not None and user.is_active and not user.is_verified:
        _queue_verification(user)
        db.session.commit()


def update_profile(user_id: int, *, name: str, bio: str, is_listed: bool) -> None:
    """Save the user's name, bio and directory visibility."""
    name = clean_name(name)
    bio = bio.strip()
    if len(bio) > BIO_MAX:
        raise InvalidProfile(f"Your bio must be at most {BIO_MAX} characters.")
    user = db.session.get_one(User, user_id)
    user.name = name
    user.name_key = name_key(name)
    user.bio = bio
    user.is_listed = is_listed
    db.session.commit()


def change_password(
    user_id: int,
    current: str,
    new: str,
    *,
    keep: ActiveSession | None,
    client: ClientInfo,
) -> None:
    """Set a new password after checking the current one; end the other sessions."""
    user = db.session.get_one(User, user_id)
    if not verify_password(user.password_hash, current):
        raise WrongPassword()
    set_password(
        user,
        new,
        keep=keep,
        client=client,
        event="password_changed",
        subject="Your password was changed",
    )


def set_password(
    user: User,
    new: str,
    *,
    keep: ActiveSession | None,
    client: ClientInfo,
    event: str,
    subject: str,
) -> None:
    """Give the user a new password, end their other sessions and tell them by mail."""
    check_password_strength(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    end_other_sessions(user, keep=keep)
    record_event(user.id, event, client)
    mailer.queue_mail(
        user.email,
        subject,
        "password_changed",
        user=user,
        forgot_link=mailer.link("auth.forgot"),
    )
    db.session.commit()
