"""The bridge between the session cookie, Flask-Login and the sessions service.

Two cookies: the session cookie names a server-side session (who is signed in);
Flask's signed "state" cookie carries only the CSRF secret and flash messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask_login
from flask import Flask, Request, Response, current_app, g
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer

from app.extensions import login_manager
from app.security import renew_session_state
from app.services import sessions
from app.services.security_log import ClientInfo

View = TypeVar("View", bound=Callable[..., Any])


def _load_user(request: Request) -> sessions.SignedInUser | None:
    if g.get("database_failed"):  # rendering an error page: do not ask again
        return None
    token = request.cookies.get(current_app.config["AUTH_COOKIE_NAME"])
    if not token:
        return None
    found = sessions.find_session(token)
    if found is None:
        g.clear_auth_cookie = True
        return None
    g.user_session, user = found
    return user


def login_required(view: View) -> View:
    """Send anonymous visitors to sign in first (Flask-Login's decorator, typed)."""
    return cast(View, flask_login.login_required(view))


def current_session() -> sessions.ActiveSession | None:
    """Return the server-side session of the signed-in user, if any."""
    # Flask-Login loads the user (and so the session) only when first asked.
    if not current_user.is_authenticated:
        return None
    user_session: sessions.ActiveSession | None = g.get("user_session")
    return user_session


def sign_in(user_id: int, *, remember: bool, client: ClientInfo) -> None:
    """Start a new session for the user; its cookie is set on the response."""
    g.new_session = (
        sessions.start_session(user_id, remember=remember, client=client),
        remember,
    )
    # A fresh CSRF secret too, so nothing from before the sign-in carries over.
    renew_session_state()


def sign_out() -> None:
    """End the current session on the server and drop its cookie."""
    user_session = current_session()
    if user_session is not None:
        sessions.end_session(user_session)
    g.clear_auth_cookie = True
    renew_session_state()


def _write_cookie(response: Response) -> Response:
    config = current_app.config
    name = config["AUTH_COOKIE_NAME"]
    new_session = g.get("new_session")
    if new_session is not None:
        token, remember = new_session
        response.set_cookie(
            name,
            token,
            # without "remember me" the cookie ends with the browser
            max_age=int(config["REMEMBER_LIFETIME"].total_seconds())
            if remember
            else None,
            secure=config["AUTH_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    elif g.get("clear_auth_cookie"):
        response.delete_cookie(
            name, secure=config["AUTH_COOKIE_SECURE"], httponly=True, samesite="Lax"
        )
    return response


class StateCookie(SecureCookieSessionInterface):
    """Flask's signed cookie session, with its serializer built once per app.

    Flask builds a new serializer each time it reads or writes the cookie, which
    cost as much as the signing itself; the key and salt never change after start.
    """

    # OpenSSL's HMAC: Flask wraps hashlib.sha1 in a Python function, which sends
    # each signature through the hmac module's slower pure-Python path.
    digest_method = staticmethod(hashlib.sha1)

    def __init__(self) -> None:
        self._serializer: URLSafeTimedSerializer | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # One interface per app (see register_session_cookie), so one serializer.
        if self._serializer is None:
            self._serializer = super().get_signing_serializer(app)
        return self._serializer


def register_session_cookie(app: Flask) -> None:
    """Let Flask-Login find users through the session cookie."""
    app.session_interface = StateCookie()
    login_manager.request_loader(_load_user)
    login_manager.session_protection = None
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    app.after_request(_write_cookie)
