"""What an account's owner keeps and changes: profile and password."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.dates import DEFAULT_ZONE, is_time_zone
from app.extensions import db
from app.models import Passkey, SecurityEvent, SecurityEventKind, User, UserSession
from app.models.security_event import SIGN_IN_KINDS
from app.models.user import NAME_MAX
from app.services import (
    ServiceError,
    characters,
    languages,
    lockouts,
    mailer,
    reauthentication,
)
from app.services.email_address import normalize_email
from app.services.passwords import (
    WeakPassword,
    check_password_strength,
    hash_password,
    verify_password,
)
from app.services.security_log import ClientInfo, record_event
from app.services.sessions import (
    end_every_session,
    end_other_sessions,
    list_sessions,
)

BIO_MAX = 500


class InvalidProfile(ServiceError):
    """A profile field breaks the rules; `field` says which ("name", "bio"...)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class WrongPassword(ServiceError):
    """The current password given is not the user's."""


class SamePassword(WeakPassword):
    """The new password is the one the account has now: nothing would change."""


def check_password(user: User, password: str) -> None:
    """Raise WrongPassword unless `password` is the user's."""
    if not verify_password(user.password_hash, password):
        raise WrongPassword()


def lock_password(user: User) -> None:
    """Replace the user's password with one nobody knows; the caller commits.

    For when someone else may know it: only a reset link gives the account a
    password again.
    """
    user.password_hash = hash_password(secrets.token_urlsafe(32))


NAME_HIDDEN_CHARACTERS = _l(
    "Your name cannot contain invisible, control or text-direction characters."
)
NAME_NOTHING_VISIBLE = _l("Your name needs at least one character that shows.")


def clean_name(name: str) -> str:
    """Return the name as stored, or raise InvalidProfile (its `field` is "name").

    The one rule for every name (sign-up, profile, `users create-admin`): runs of
    whitespace become one space and the ends are trimmed; then it must be 1 to
    NAME_MAX characters, hold no control or format character (characters.py:
    bidirectional controls, zero-width space ...; the joiners ZWNJ and ZWJ that
    Persian, Indic scripts and emoji need are kept) and show something once
    joiners and other characters drawn as nothing are set aside. The message is
    in the language of the page being written.
    """
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidProfile(
            _("Your name must be 1 to %(max)d characters.", max=NAME_MAX),
            field="name",
        )
    if characters.hidden_controls(name):
        raise InvalidProfile(str(NAME_HIDDEN_CHARACTERS), field="name")
    if not characters.has_visible(name):
        raise InvalidProfile(str(NAME_NOTHING_VISIBLE), field="name")
    return name


def find_user_by_email(email: str) -> User | None:
    """Return the account with this address (in any form it may be typed), if any."""
    return db.session.scalars(
        select(User).where(User.email == normalize_email(email))
    ).first()


def update_profile(
    user_id: int,
    *,
    name: str,
    bio: str,
    is_listed: bool,
    time_zone: str | None = None,
    language: str | None = None,
) -> None:
    """Save the user's name, bio, directory visibility, time zone and language; commit.

    `time_zone` is an IANA name ("Europe/Berlin"), None to keep the zone; a zone
    other than the one the member has is their choice, which sign-ins no longer
    change. `language` is the code of the language pages and mails are written
    in ("fr"), one of the setting LANGUAGES, None to keep it.
    Raises InvalidProfile (its `field` names "name", "bio", "time_zone" or
    "language"; its message in the page's language) and changes nothing when one
    breaks the rules.
    """
    name = clean_name(name)
    bio = bio.strip()
    if len(bio) > BIO_MAX:
        raise InvalidProfile(
            _("Your bio must be at most %(max)d characters.", max=BIO_MAX), field="bio"
        )
    if time_zone is not None and not is_time_zone(time_zone):
        raise InvalidProfile(
            _("Choose your time zone from the list."), field="time_zone"
        )
    if language is not None and not languages.is_offered(language):
        raise InvalidProfile(_("Choose your language from the list."), field="language")
    user = db.session.get_one(User, user_id)
    user.name = name
    user.bio = bio
    user.is_listed = is_listed
    # Saving the profile as it was (to change the bio) chooses no zone: only a
    # zone other than the one shown is the member's choice.
    if time_zone is not None and time_zone != (user.time_zone or DEFAULT_ZONE):
        user.time_zone = time_zone
        user.time_zone_chosen = True
    if language is not None:
        user.language = language
    db.session.commit()


def note_browser_time_zone(user: User, time_zone: str) -> None:
    """At a sign-in, take the browser's IANA zone unless the member chose one.

    An empty or unknown `time_zone` (no script ran) changes nothing. The caller's
    transaction commits.
    """
    if is_time_zone(time_zone) and not user.time_zone_chosen:
        user.time_zone = time_zone


def change_password(
    user_id: int,
    current: str,
    new: str,
    *,
    keep: UserSession | None,
    client: ClientInfo,
) -> int:
    """Set a new password after checking the current one; end the other sessions.

    `keep` is the session that asked, which stays signed in; while its
    reauthentication window is open, `current` is not asked for (nor read).
    Returns how many other sessions were signed out. Raises WrongPassword or
    WeakPassword, and then changes nothing.
    """
    user = db.session.get_one(User, user_id)
    if reauthentication.window_open(keep):
        known: str | None = None
    else:
        check_password(user, current)
        known = current
    reauthentication.open_window(keep, user)
    return set_password(
        user,
        new,
        keep=keep,
        client=client,
        event=SecurityEventKind.PASSWORD_CHANGED,
        subject=_l("Your password was changed"),
        current=known,
    )


def set_password(
    user: User,
    new: str,
    *,
    keep: UserSession | None,
    client: ClientInfo,
    event: SecurityEventKind,
    subject: str,
    current: str | None = None,
) -> int:
    """Give the user a new password, end their sessions but `keep`, mail them; commit.

    Returns how many sessions it signed out (live ones: see `end_every_session`).
    `current` is the password the user has now, when the caller has just verified
    it: comparing with it spares an argon2 verify (19 MiB, tens of ms). `subject`
    is the mail's (a `lazy_gettext` string), written in the member's language.
    Also ends a lockout of the address. After a reset from a mailed link
    (`event` PASSWORD_RESET) the notice names the account's passkeys, which the
    reset keeps. Raises WeakPassword (SamePassword for the password it has now),
    changing nothing.
    """
    check_password_strength(new, email=user.email, name=user.name)
    if current is not None:
        same = new == current
    else:
        same = verify_password(user.password_hash, new)
    if same:
        raise SamePassword(_("That is your password already; choose a new one."))
    user.password_hash = hash_password(new)
    if keep is None:
        ended = end_every_session(user.id)
    else:
        ended = end_other_sessions(user.id, keep)
    lockouts.end_lockout(user.email)
    record_event(user.id, event, client)
    # A passkey is a way in of its own, which a reset leaves in place: whoever
    # reset a stolen account's password learns here of one a thief added.
    kept_passkeys = (
        list(
            db.session.scalars(
                select(Passkey.name)
                .where(Passkey.user_id == user.id)
                .order_by(Passkey.created_at, Passkey.id)
            )
        )
        if event is SecurityEventKind.PASSWORD_RESET
        else []
    )
    mailer.queue_mail(
        user.email,
        subject,
        "password_changed",
        language=mailer.member_language(user),
        user=user,
        ended=ended,
        forgot_link=mailer.link("auth.forgot"),
        passkeys=kept_passkeys,
        passkeys_link=mailer.link("account.passkeys"),
    )
    db.session.commit()
    return ended


@dataclass(frozen=True)
class AccountSummary:
    """What the home page tells a member about their account at a glance.

    `previous_sign_in` is the sign-in before the newest one (None on the first).
    """

    sessions: int
    two_factor: bool
    previous_sign_in: SecurityEvent | None


def account_summary(user: User, current: UserSession | None) -> AccountSummary:
    """Return the member's live sessions, two-factor state and previous sign-in.

    The previous sign-in is the newest one but the one that started `current`,
    the session asking: one made since in another browser included.
    """
    live = len(list_sessions(user.id))
    query = select(SecurityEvent).where(
        SecurityEvent.user_id == user.id,
        SecurityEvent.kind.in_(SIGN_IN_KINDS),
    )
    if current is not None:  # its sign-in was logged at the session's own time
        query = query.where(SecurityEvent.created_at != current.created_at)
    previous = db.session.scalars(
        query.order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc()).limit(
            1
        )
    ).first()
    return AccountSummary(live, user.totp_secret is not None, previous)
