"""Every error as a page in the site's layout, never a traceback."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from app.config import SOURCE_LANGUAGE
from app.dates import describe_duration
from app.extensions import db
from app.web.forms import Form, Text
from app.web.ratelimits import seconds_until_reset
from app.web.request_state import request_state

JSON_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

# Each error page's title and text, in the page's language; the machine endpoints'
# JSON says the title in English.
MESSAGES = {
    400: (
        _l("Bad request"),
        _l(
            "The request could not be understood. Go back, reload the page and "
            "try again."
        ),
    ),
    403: (_l("Forbidden"), _l("You do not have access to this page.")),
    404: (
        _l("Page not found"),
        _l("Nothing is at this address. Check the link, or start from the home page."),
    ),
    405: (
        _l("Method not allowed"),
        _l("This address does not accept that kind of request."),
    ),
    413: (_l("Too large"), _l("What you sent is larger than this site accepts.")),
    422: (
        _l("Unprocessable"),
        _l("The request was understood but could not be handled."),
    ),
    429: (_l("Too many requests"), _l("You have tried that too often.")),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error happened on our side. It is logged; please try again."),
    ),
    503: (
        _l("Temporarily unavailable"),
        _l(
            "The site cannot reach its database right now. Please try again in a "
            "minute."
        ),
    ),
}


def render_error(error: HTTPException) -> Response:
    """Render an HTTP error in the layout (JSON for the machine endpoints)."""
    code = error.code or 500
    title, message = MESSAGES.get(code, (error.name, error.description or ""))
    retry_after = seconds_until_reset() if code == 429 else None
    if request.path in JSON_PATHS:
        with force_locale(SOURCE_LANGUAGE):
            status = str(title).lower()
        response = jsonify(status=status)
    else:
        response = Response(
            render_template(
                "errors/error.html",
                code=code,
                title=str(title),
                message=str(message),
                wait=describe_duration(retry_after) if retry_after else None,
            )
        )
    response.status_code = code
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def too_many(body: str, retry_after: float) -> Response:
    """Return a page refused for a while: status 429 and when to retry, in seconds."""
    response = Response(body, status=429)
    response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


@dataclass(frozen=True)
class FormPage:
    """How a form's page is shown again: its form, template and other context."""

    form: Callable[[], Form]
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)


def refuse_form(
    page: FormPage, refusal: Text, retry_after: float, form: Form | None = None
) -> Response:
    """Show a form again as a 429 refused for `retry_after` seconds.

    The page keeps what was typed (never passwords) and its ways out, and says why.
    """
    form = page.form() if form is None else form
    form.form_errors.append(refusal)
    body = render_template(page.template, form=form, **page.context)
    return too_many(body, retry_after)


def refused_form_page(
    error: RateLimitExceeded, forms: Mapping[str, tuple[Text, FormPage]]
) -> Response:
    """Answer a rate-limited post with its form, what was typed, why, and the wait.

    `forms` maps an endpoint to the reason shown (a sentence, `_l` marked) and its
    form's page; other endpoints get the error page.
    """
    seconds = seconds_until_reset()
    refused = forms.get(request.endpoint or "")
    if refused is None or seconds is None:
        return render_error(error)
    reason, page = refused
    again = _("Please try again in %(duration)s.", duration=describe_duration(seconds))
    return refuse_form(page, f"{reason} {again}", seconds)


def _undo_writes() -> None:
    # Rolling back expires every loaded object, and the error page's header reads
    # the signed-in user: detached first, the user keeps what was read and the page
    # asks the database nothing.
    db.session.expunge_all()
    db.session.rollback()


def handle_database_down(error: OperationalError) -> Response:
    """Answer 503 while the database is unreachable; the pool reconnects later."""
    _undo_writes()
    request_state().database_failed = True
    return render_error(ServiceUnavailable())


def handle_unexpected(error: Exception) -> Response:
    """Log the failure, undo its half-done writes, and show the 500 page."""
    _undo_writes()
    # Only a database failure makes the nav's user lookup unsafe to repeat.
    request_state().database_failed = isinstance(error, SQLAlchemyError)
    if isinstance(error, HTTPException):
        return render_error(error)
    # The endpoint, not the path: a mailed link's path holds its token.
    current_app.logger.exception(
        "unhandled error on %s %s", request.method, request.endpoint or "-"
    )
    return render_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    """Route every error to the pages above."""
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(Exception, handle_unexpected)
