"""What the web modules tell each other about one request, typed, in one place.

Flask's `g` lasts one request; each module that needs to leave a mark for another
(the sign-in cookie for the page's hooks, CSRF for the form, an error page for the
user loader) writes it here instead of to a string-named attribute of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g

from app.models import UserSession

# The one name this module keeps on `g`.
G_NAME = "vestibule"


@dataclass
class RequestState:
    """One request's marks; each starts unset."""

    # when the request began (time.perf_counter(), s), for its log line
    started: float | None = None
    # the session the sign-in cookie named, once Flask-Login loaded its user
    user_session: UserSession | None = None
    # a session started by this request: (its cookie's token, whether remembered)
    new_sign_in: tuple[str, bool] | None = None
    # the response drops the sign-in cookie (signed out, or its session is gone)
    clear_sign_in_cookie: bool = False
    # the database failed: the error page must not ask it for the user again
    database_failed: bool = False
    # the post's CSRF token was this browser's but expired, or from before a
    # sign-in or sign-out: its form fails and says why (app/web/security.py)
    csrf_expired: bool = False
    csrf_stale: bool = False
    # the post's password or code was wrong: the limits that count only those do
    wrong_answer: bool = False
    # Flask-Limiter's own hook is running, not a view (app/web/ratelimits.py)
    limiter_hook_phase: bool = False


def request_state() -> RequestState:
    """Return this request's `RequestState`, made on first use."""
    state: RequestState | None = g.get(G_NAME)
    if state is None:
        state = RequestState()
        setattr(g, G_NAME, state)
    return state
