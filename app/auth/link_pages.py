"""What the pages of mailed links share: a link that failed, and what follows one."""

from __future__ import annotations

from flask import redirect, render_template, session, url_for
from flask_login import current_user
from werkzeug import Response

from app.models import User
from app.services.tokens import ExpiredLink, InvalidLink
from app.web.sign_in_cookie import forget_sign_in

# The state-cookie key of the address the sign-in form is filled in with once, after
# a link of that address set its password or unlocked its sign-in.
SIGN_IN_AS = "sign_in_as"


def link_failed(error: InvalidLink) -> tuple[str, int]:
    """The page of a mailed link that is too old, tampered with or used."""
    expired = isinstance(error, ExpiredLink)
    return render_template("auth/link_failed.html", expired=expired), 400


def sign_in_as(email: str) -> Response:
    """Send the browser to the sign-in form, filled in with `email` once."""
    session[SIGN_IN_AS] = email
    return redirect(url_for("auth.login"))


def forget_sign_in_of(user: User) -> None:
    """After every session of `user` ended: drop this browser's if it was one."""
    if current_user.is_authenticated and current_user.id == user.id:
        forget_sign_in()
