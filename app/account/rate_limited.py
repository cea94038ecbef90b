"""The answer to a post of the account blueprint that a rate limit refused.

The form comes back as it was posted, with the wait in words; the two-factor page
shows its whole page around the refused form.
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from werkzeug import Response

from app.account.blueprint import bp
from app.account.forms import DeleteAccountForm, EmailChangeForm, PasswordForm
from app.account.two_factor import TWO_FACTOR_FORMS, render_two_factor
from app.dates import describe_duration
from app.web.errors import FormPage, refused_form_page, too_many
from app.web.ratelimits import seconds_until_reset


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded) -> Response:
    two_factor_form = TWO_FACTOR_FORMS.get(request.endpoint or "")
    seconds = seconds_until_reset()
    if two_factor_form is not None and seconds is not None:
        form = two_factor_form()
        form.form_errors.append(
            _(
                "Too many password attempts. Please try again in %(duration)s.",
                duration=describe_duration(seconds),
            )
        )
        return too_many(render_two_factor(form), seconds)
    return refused_form_page(
        error,
        {
            "account.password": (
                _("Too many password attempts."),
                FormPage(PasswordForm, "account/password.html"),
            ),
            "account.email": (
                _("Too many password attempts."),
                FormPage(EmailChangeForm, "account/email.html"),
            ),
            "account.delete": (
                _("Too many password attempts."),
                FormPage(DeleteAccountForm, "account/delete.html"),
            ),
        },
    )
