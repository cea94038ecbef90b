"""Signing up: a claim on an address and a mailed link; the link that is opened decides.

Until an address is verified nobody holds it. Each sign-up is a claim of its own
(name, password, link); confirming one claim's link makes it the account and drops
the others, so a stranger who signed up first with someone else's address keeps
nothing once the owner confirms their own sign-up. The confirmation needs proof
besides the link: the browser that signed up, or that sign-up's password.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import SecurityEventKind, SignUpClaim, User
from app.models.base import utcnow
from app.services import ServiceError, mailer
from app.services.accounts import clean_name, find_user_by_email
from app.services.email_address import normalize_email
from app.services.passwords import (
    check_password_strength,
    hash_password,
    verify_password,
)
from app.services.security_log import ClientInfo, record_event
from app.services.tokens import (
    ExpiredLink,
    InvalidLink,
    make_token,
    new_link_key,
    read_token,
)

VERIFY_PURPOSE = "verify-email"


class AlreadyVerified(ServiceError):
    """The address behind the link belongs to an account now."""

    def __init__(self, user_id: int | None) -> None:
        super().__init__(user_id)
        self.user_id = user_id


class NotYourSignUp(ServiceError):
    """This browser did not sign up, and the password typed is not the sign-up's."""


def browser_key_hash(browser_key: str) -> str:
    """Return the sha256 hex digest stored for a signing-up browser's key."""
    return hashlib.sha256(browser_key.encode()).hexdigest()


def signed_up_in(claim: SignUpClaim, browser_key: str | None) -> bool:
    """Tell whether the browser keeping `browser_key` is the one that made the claim."""
    return bool(browser_key) and hmac.compare_digest(
        claim.browser_key_hash, browser_key_hash(browser_key or "")
    )


def _claim_lifetime() -> timedelta:
    lifetime: timedelta = current_app.config["SIGN_UP_CLAIM_LIFETIME"]
    return lifetime


def newest_claim(email: str) -> SignUpClaim | None:
    """Return the newest claim on the (canonical) address still in its lifetime."""
    return db.session.scalars(
        select(SignUpClaim)
        .where(
            SignUpClaim.email == email,
            SignUpClaim.created_at > utcnow() - _claim_lifetime(),
        )
        .order_by(SignUpClaim.created_at.desc(), SignUpClaim.id.desc())
        .limit(1)
    ).first()


def _queue_link(claim: SignUpClaim) -> None:
    # The address is not proven yet: the mail carries nothing the sign-up typed.
    token = make_token(
        VERIFY_PURPOSE,
        {"claim": claim.id, "key": claim.link_key, "email": claim.email},
    )
    mailer.queue_mail(
        claim.email,
        _l("Confirm your e-mail address"),
        "verify",
        language=claim.language,  # the sign-up page's
        link=mailer.link("auth.verify", token=token),
    )


def _queue_already_registered(owner: User) -> None:
    # In the owner's language: a stranger's page chooses nothing for them.
    mailer.queue_mail(
        owner.email,
        _l("Someone tried to sign up with your address"),
        "already_registered",
        language=mailer.member_language(owner),
        login_link=mailer.link("auth.login"),
        forgot_link=mailer.link("auth.forgot"),
    )


def register_user(
    name: str, email: str, password: str, *, browser_key: str, language: str
) -> None:
    """Claim an address and mail its link, or tell the account that holds it.

    Both outcomes cost the same work (one hash, one mail, one commit) and look the
    same to the person signing up, so the form tells nobody which addresses have
    accounts. `browser_key` is the random key the signing-up browser keeps: with
    it, that browser confirms the link without typing the password. `language` is
    the code of the sign-up page's language ("fr"): the link's mail is written in
    it, and the account its link makes reads the site in it.
    Raises InvalidProfile or WeakPassword before writing anything.
    """
    email = normalize_email(email)
    name = clean_name(name)
    check_password_strength(password, email=email, name=name)
    password_hash = hash_password(password)
    db.session.execute(
        delete(SignUpClaim).where(
            SignUpClaim.email == email,
            SignUpClaim.created_at <= utcnow() - _claim_lifetime(),
        )
    )
    # Kept on a held address too, though no link is mailed for it: signing in with
    # its password answers as for an address nobody holds (sign_in.sign_in).
    claim = SignUpClaim(
        email=email,
        name=name,
        password_hash=password_hash,
        link_key=new_link_key(),
        browser_key_hash=browser_key_hash(browser_key),
        language=language,
    )
    db.session.add(claim)
    db.session.flush()
    owner = find_user_by_email(email)
    if owner is not None:
        _queue_already_registered(owner)
    else:
        _queue_link(claim)
    db.session.commit()


def read_claim(token: str) -> SignUpClaim:
    """Return the claim a genuine, fresh verify link belongs to.

    Raises ExpiredLink or InvalidLink for a link that is too old, tampered with or
    whose claim is gone; AlreadyVerified when its address has an account now.
    A link is good for VERIFY_TOKEN_MAX_AGE seconds.
    """
    max_age: int = current_app.config["VERIFY_TOKEN_MAX_AGE"]
    try:
        payload = read_token(VERIFY_PURPOSE, token, max_age)
    except ExpiredLink as error:  # too old; but if the address has an account, say so
        _refuse_if_taken(error.payload.get("email"))
        raise
    # The claim first: one confirmed meanwhile has its account committed by the
    # time its claims are gone, so a missing claim is looked up as an account.
    claim = db.session.get(SignUpClaim, payload.get("claim"))
    if claim is None or claim.link_key != payload.get("key"):
        _refuse_if_taken(payload.get("email"))
        raise InvalidLink()
    _refuse_if_taken(claim.email)
    return claim


def _refuse_if_taken(email: object) -> None:
    owner = find_user_by_email(email) if isinstance(email, str) else None
    if owner is not None:  # the link's claim, or another on its address, won
        raise AlreadyVerified(owner.id)


def confirm_sign_up(
    token: str,
    *,
    browser_key: str | None,
    password: str,
    client: ClientInfo,
) -> User:
    """Turn the link's claim into a verified account and drop the address's others.

    The proof besides the link is the signing-up browser's key or the sign-up's
    password. The account reads the site in the sign-up page's language. Raises
    what `read_claim` raises, or NotYourSignUp without that proof; nothing is
    written then.
    """
    claim = read_claim(token)
    if not signed_up_in(claim, browser_key) and not (
        password and verify_password(claim.password_hash, password)
    ):
        raise NotYourSignUp()
    user = User(
        name=claim.name,
        email=claim.email,
        password_hash=claim.password_hash,
        email_verified_at=utcnow(),
        language=claim.language,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # another claim on the address was confirmed just now
        db.session.rollback()
        raise AlreadyVerified(None) from None
    db.session.execute(delete(SignUpClaim).where(SignUpClaim.email == claim.email))
    record_event(user.id, SecurityEventKind.EMAIL_VERIFIED, client)
    db.session.commit()
    return user


def resend_link(email: str) -> None:
    """Mail the address what it has: a fresh link for its newest claim, else a note.

    The fresh link voids the links mailed before for that claim (the links of
    other sign-ups of the address stay theirs). Every request mails the address
    it names and costs the same work, so the answer tells nobody whether an
    account or a sign-up exists. A fresh link is written in its sign-up's
    language, a note in the page's.
    """
    email = normalize_email(email)
    claim = None if find_user_by_email(email) is not None else newest_claim(email)
    if claim is not None:
        claim.link_key = new_link_key()
        _queue_link(claim)
    else:
        mailer.queue_mail(
            email,
            _l("Your request for a confirmation link"),
            "no_sign_up",
            language=None,  # to an address typed: the page's language
            register_link=mailer.link("auth.register"),
            login_link=mailer.link("auth.login"),
            forgot_link=mailer.link("auth.forgot"),
        )
    db.session.commit()


# -- for operators ----------------------------------------------------------------


def waiting_sign_ups() -> int:
    """Return how many sign-ups wait for their link (no account exists for them)."""
    return db.session.scalar(select(func.count(SignUpClaim.id))) or 0


def purge_unverified(older_than: timedelta) -> int:
    """Delete sign-ups whose link was never opened and that are older; commit.

    Only sign-ups (claims) go: no account is touched. Returns how many went.
    """
    cutoff: datetime = utcnow() - older_than
    result = cast(
        CursorResult[Any],
        db.session.execute(delete(SignUpClaim).where(SignUpClaim.created_at < cutoff)),
    )
    db.session.commit()
    return result.rowcount
