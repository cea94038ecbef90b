"""The reauthentication window: a session that just confirmed its password is trusted.

The settings a thief with a stolen session could abuse (e-mail, password,
two-factor, recovery codes, deletion) ask for the password, and with two-factor
on for a code. Once a session confirmed them on one of those forms, its settings
ask for nothing more for REAUTHENTICATION_WINDOW seconds, as GitHub's "sudo mode"
and django-allauth's reauthentication do: the owner setting up their account in
one sitting types the password once. The moment is kept on the session's row
(`UserSession.confirmed_at`), so the window ends with the session. Signing in
does not open it: only a confirmation on a settings form does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from app.models import User, UserSession
from app.models.base import utcnow


def window_ends(session: UserSession | None) -> datetime | None:
    """Return when the session's window closes (UTC), or None when it is not open."""
    seconds: int = current_app.config["REAUTHENTICATION_WINDOW"]
    if session is None or session.confirmed_at is None or seconds <= 0:
        return None
    ends = session.confirmed_at + timedelta(seconds=seconds)
    return ends if utcnow() < ends else None


def window_open(session: UserSession | None) -> bool:
    """Say whether `session` confirmed its password recently enough to skip it."""
    return window_ends(session) is not None


def open_window(
    session: UserSession | None, user: User, *, code_checked: bool = False
) -> None:
    """Start the session's window now, after `user`'s password was confirmed.

    While `user` has two-factor on, only a confirmation that checked a code too
    (`code_checked`) opens it: the password alone (the e-mail and password forms)
    must not let the forms that ask for a code through without one. The caller
    commits, with the change the confirmation was for; a session that was already
    confirmed keeps the moment it was (the window is not stretched by forms that
    asked for nothing).
    """
    if (
        session is not None
        and (user.totp_secret is None or code_checked)
        and current_app.config["REAUTHENTICATION_WINDOW"] > 0
        and not window_open(session)
    ):
        session.confirmed_at = utcnow()
