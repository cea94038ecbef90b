"""Keys and settings for the rate limits the routes declare."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask, Response, current_app, request, url_for
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.extensions import db, limiter
from app.services import throttles
from app.services.email_address import normalize_email
from app.web.request_state import request_state


def setting(name: str) -> Callable[[], str]:
    """Read a limit from the settings at request time, so each is configurable."""
    return lambda: str(current_app.config[name])


def _form_email() -> str:
    return normalize_email(request.form.get("email", ""))[:254]


def ip_key() -> str:
    """Key a limit by client IP."""
    return get_remote_address()


def ip_email_key() -> str:
    """Key a limit by client IP and the e-mail address posted."""
    return f"{get_remote_address()}|{_form_email()}"


def user_key() -> str:
    """Key a limit by the signed-in user."""
    return f"user|{current_user.get_id()}"


# Settings that declare limits for every route, which only the per-request hook checks.
SITE_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def init_limiter(app: Flask) -> None:
    """Bind the limiter; without site-wide limits, its per-request hook checks nothing.

    Flask-Limiter checks limits in a hook before every request and again in each
    limited route's decorator. Every limit of this site is declared on its route,
    so without a site-wide setting the hook has nothing to find: a request filter
    (Flask-Limiter's public `request_filter`) exempts the request while the hook
    runs, and two hooks of ours around Flask-Limiter's say when that is.
    """
    app.config.setdefault("RATELIMIT_ON_BREACH_CALLBACK", on_refusal)
    skip = not any(app.config.get(name) for name in SITE_WIDE_LIMITS)
    hooks = app.before_request_funcs.setdefault(None, [])
    if skip and _enter_hook_phase not in hooks:
        app.before_request(_enter_hook_phase)
    limiter.init_app(app)
    if skip and _leave_hook_phase not in hooks:
        app.before_request(_leave_hook_phase)
    if _in_hook_phase not in _REQUEST_FILTERS:
        limiter.request_filter(_in_hook_phase)
        _REQUEST_FILTERS.append(_in_hook_phase)


_REQUEST_FILTERS: list[Callable[[], bool]] = []


def _enter_hook_phase() -> None:
    request_state().limiter_hook_phase = True


def _leave_hook_phase() -> None:
    request_state().limiter_hook_phase = False


def _in_hook_phase() -> bool:
    return request_state().limiter_hook_phase


def on_refusal(refused: RequestLimit) -> None:
    """Flask-Limiter's `on_breach`: count the refusal and note the client for admins.

    Returns None, so the refusal is answered as before. A database that fails
    here costs the note, never the answer.
    """
    metrics.count_rate_limit_hit(refused)
    # What the limit was tested with (Flask-Limiter's identifiers for its key):
    # the client its key function gave and its scope, after an optional prefix.
    *_, client, scope = refused.request_args
    try:
        throttles.note_refusal(refused.key, client, scope, str(refused.limit))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("could not note a rate-limit refusal")


def renew_storage_after_fork(app: Flask) -> None:
    """Give a forked process rate-limit storage of its own.

    Flask-Limiter builds its storage in `init_app`: the in-memory one starts a
    timer thread, which a fork does not copy, and Redis's keeps a connection pool.
    Binding the limiter again builds new ones; Flask-Limiter installs its hooks
    only at the first binding, so nothing else changes.
    """
    init_limiter(app)


def count_wrong_answer() -> None:
    """Mark this request as a wrong password or code, for `wrong_answer` to count."""
    request_state().wrong_answer = True


def wrong_answer(response: Response) -> bool:
    """Count only posts whose password or code was wrong (`count_wrong_answer`).

    What such a limit guards against is guessing: a right answer neither counts
    nor is refused until the wrong ones reach the limit.
    """
    return request_state().wrong_answer


def refused_form(response: Response) -> bool:
    """Count only posts whose form came back (a success answers with a redirect)."""
    return response.status_code // 100 != 3


def failed_sign_in(response: Response) -> bool:
    """Count only sign-in attempts that failed."""
    return response.status_code == 401


def led_to_check_inbox(response: Response) -> bool:
    """Count only posts answered with "check your inbox": an accepted sign-up, or a
    request for a mailed link that queued a mail.

    A form refused for a typo, junk typed or a missing CSRF token queues nothing
    and is free, so junk posts from one client cannot use up the limit of everyone
    behind its address; a signed-in member's sign-up post, sent home, is free too.
    """
    return response.status_code == 302 and response.location == url_for(
        "auth.check_inbox"
    )


def seconds_until_reset() -> int | None:
    """Return the seconds until the limit this request broke lets it through again."""
    limit = limiter.current_limit
    if limit is None:
        return None
    return max(1, int(limit.reset_at - time.time()))
