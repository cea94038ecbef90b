"""The auth forms refused by a rate limit: each comes back with why and the wait."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from werkzeug import Response

from app.auth.blueprint import bp
from app.auth.check_inbox import MANY_LINKS, inbox_page
from app.auth.forms import EmailForm, LoginForm, RegisterForm, ResetForm, TwoFactorForm
from app.dates import describe_duration
from app.web.errors import FormPage, refused_form_page, too_many
from app.web.ratelimits import seconds_until_reset

# A form refused by a rate limit comes back with what was typed (never passwords),
# why, when to try again and the page's own ways out.
LOGIN_PAGE = FormPage(
    lambda: LoginForm(next=request.args.get("next", "")),
    "auth/login.html",
    {"problem": None},
)
TWO_FACTOR_PAGE = FormPage(TwoFactorForm, "auth/two_factor.html")
REFUSED_FORMS = {
    "auth.register": (
        _l("Too many sign-ups from your network."),
        FormPage(RegisterForm, "auth/register.html"),
    ),
    "auth.login_submit": (_l("Too many sign-in attempts."), LOGIN_PAGE),
    "auth.two_factor": (_l("Too many codes tried."), TWO_FACTOR_PAGE),
    "auth.forgot": (MANY_LINKS, FormPage(EmailForm, "auth/forgot.html")),
    "auth.verify_resend": (
        MANY_LINKS,
        FormPage(EmailForm, "auth/verify_failed.html", {"expired": False}),
    ),
    "auth.reset": (
        _l("Too many attempts to set a password."),
        FormPage(ResetForm, "auth/reset.html", {"email": None}),
    ),
}


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded) -> Response:
    seconds = seconds_until_reset()
    if request.endpoint == "auth.send_again" and seconds is not None:
        again = _(
            "You can send it again in %(duration)s.",
            duration=describe_duration(seconds),
        )
        refusal = f"{MANY_LINKS} {again}"
        return too_many(inbox_page(EmailForm(), refusal), seconds)
    return refused_form_page(error, REFUSED_FORMS)
