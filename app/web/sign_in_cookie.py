"""The sign-in cookie: how a request finds its session, through Flask-Login.

A browser carries two cookies. The sign-in cookie (SIGN_IN_COOKIE_NAME) holds a
random token naming a session, a `UserSession` row (app/services/sessions.py).
Flask's own signed cookie, the state cookie (SESSION_COOKIE_NAME, `flask.session`),
carries only the CSRF secret, flash messages and a signing-up browser's key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask_login
from flask import Flask, Request, Response, current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import login_manager
from app.models import User, UserSession
from app.services import sessions
from app.services.security_log import ClientInfo
from app.web.request_state import request_state
from app.web.security import renew_session_state

View = TypeVar("View", bound=Callable[..., Any])


def _load_user(request: Request) -> User | None:
    if request_state().database_failed:  # rendering an error page: do not ask again
        return None
    token = request.cookies.get(current_app.config["SIGN_IN_COOKIE_NAME"])
    if not token:
        return None
    found = sessions.resume_session(token)
    if found is None:
        request_state().clear_sign_in_cookie = True
        return None
    request_state().user_session, user = found
    return user


def login_required(view: View) -> View:
    """Send anonymous visitors to sign in first (Flask-Login's decorator, typed)."""
    return cast(View, flask_login.login_required(view))


def current_session() -> UserSession | None:
    """Return the session of the signed-in user, if any."""
    # Flask-Login loads the user (and so the session) only when first asked.
    if not current_user.is_authenticated:
        return None
    return request_state().user_session


def set_sign_in_cookie(token: str, remember: bool) -> None:
    """Give this browser the cookie of the session a sign-in just opened.

    `token` is the session's (app/services/sign_in.py); the cookie is set on the
    response, kept for REMEMBER_LIFETIME with `remember`, else until the browser
    closes. The state cookie is cleared, its CSRF secret renewed, so nothing from
    before the sign-in carries over.
    """
    request_state().new_sign_in = (token, remember)
    renew_session_state()


def sign_out(client: ClientInfo) -> None:
    """End the current session on the server and drop its cookie."""
    user_session = current_session()
    if user_session is not None:
        sessions.sign_out(user_session, client)
    request_state().clear_sign_in_cookie = True
    renew_session_state()


def forget_sign_in() -> None:
    """Drop this browser's sign-in cookie and state, its session being gone already."""
    request_state().clear_sign_in_cookie = True
    renew_session_state()


def _write_cookie(response: Response) -> Response:
    config = current_app.config
    name = config["SIGN_IN_COOKIE_NAME"]
    state = request_state()
    new_sign_in = state.new_sign_in
    if new_sign_in is not None:
        token, remember = new_sign_in
        response.set_cookie(
            name,
            token,
            # without "remember me" the cookie ends with the browser
            max_age=int(config["REMEMBER_LIFETIME"].total_seconds())
            if remember
            else None,
            secure=config["SIGN_IN_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    elif state.clear_sign_in_cookie:
        response.delete_cookie(
            name, secure=config["SIGN_IN_COOKIE_SECURE"], httponly=True, samesite="Lax"
        )
    return response


def register_sign_in_cookie(app: Flask) -> None:
    """Let Flask-Login find users through the sign-in cookie."""
    login_manager.request_loader(_load_user)
    login_manager.session_protection = None
    login_manager.login_view = "auth.login"
    # Flashed in the page's language: written when flashed, not when set here.
    login_manager.login_message = _l("Please sign in to see that page.")
    login_manager.localize_callback = str
    login_manager.login_message_category = "info"
    app.after_request(_write_cookie)
