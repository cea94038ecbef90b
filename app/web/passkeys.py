"""What the passkey views share: the browser's challenge key and JSON answers.

A ceremony's challenge is stored server-side (app/services/passkey_challenges.py); the
browser that asked for it keeps its key in the state cookie, signed, so that no
other browser can answer it. The cookie keeps the newest few keys: a sign-in page
left open in one tab still signs in after another tab started a ceremony.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import jsonify, request, session
from werkzeug import Response

from app.extensions import limiter
from app.services import passkey_challenges
from app.web.forms import ConfirmForm
from app.web.ratelimits import ip_key, setting, user_key

CHALLENGE_KEYS = "passkey_challenges"  # their key in the state cookie
# How many ceremonies of one browser may wait at once (each key is 43 characters).
KEPT_CHALLENGES = 4

# The passkey sign-in posts (options and answers, alone or as the second step),
# counted together per client IP: each start stores a challenge. Adding a passkey
# is counted per member (its confirmation has PASSWORD_CHECKS besides).
PASSKEY_SIGN_INS = limiter.shared_limit(
    setting("PASSKEY_LIMIT"), scope="passkeys", key_func=ip_key
)
PASSKEY_ADDITIONS = limiter.shared_limit(
    setting("PASSKEY_LIMIT"), scope="passkey-additions", key_func=user_key
)


def keep_challenge(key: str) -> None:
    """Keep the key of this browser's new ceremony challenge, beside its newest few."""
    session[CHALLENGE_KEYS] = [*challenge_keys(), key][-KEPT_CHALLENGES:]


def challenge_keys() -> list[str]:
    """Return the keys of this browser's ceremony challenges, oldest first.

    A used one is left in place: its challenge is gone from the server, and a
    newer key pushes it out.
    """
    keys = session.get(CHALLENGE_KEYS)
    if not isinstance(keys, list):
        return []
    return [key for key in keys if isinstance(key, str)]


def options_answer(key: str, options: str) -> Response:
    """Answer a ceremony's start: its options as JSON, the key kept by the browser."""
    keep_challenge(key)
    response = Response('{"options": ' + options + "}", mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def refusal_answer(message: str, status: int) -> Response:
    """Answer a ceremony's start that is refused: {"error": message}, `status`."""
    response = jsonify(error=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def refused_post() -> Response | None:
    """Refuse a ceremony's start posted with a stale or expired form (its page is
    out of date: the answer says so); None when the post may go on."""
    form = ConfirmForm()
    if form.validate_on_submit():
        return None
    errors = [str(error) for errors in form.errors.values() for error in errors]
    return refusal_answer(" ".join(errors), 422)


def unavailable_here() -> str | None:
    """Say why passkeys cannot work at the address this page was asked at, or None."""
    return passkey_challenges.unavailable_reason(
        urlsplit("//" + request.host).hostname or ""
    )
