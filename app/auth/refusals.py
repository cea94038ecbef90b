"""The auth forms refused by a rate limit: each comes back with why and the wait."""

from __future__ import annotations

from flask import request
from flask_limiter import RateLimitExceeded
from werkzeug import Response

from app.auth.blueprint import bp
from app.auth.check_inbox import MANY_LINKS, inbox_page
from app.auth.forms import EmailForm, LoginForm, RegisterForm, ResetForm, TwoFactorForm
from app.web.errors import FormPage, refused_form_page, too_many
from app.web.ratelimits import describe_wait, seconds_until_reset

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
        "Too many sign-ups from your network.",
        FormPage(RegisterForm, "auth/register.html"),
    ),
    "auth.login_submit": ("Too many sign-in attempts.", LOGIN_PAGE),
    "auth.two_factor": ("Too many codes tried.", TWO_FACTOR_PAGE),
    "auth.forgot": (MANY_LINKS, FormPage(EmailForm, "auth/forgot.html")),
    "auth.verify_resend": (
        MANY_LINKS,
        FormPage(EmailForm, "auth/verify_failed.html", {"expired": False}),
    ),
    "auth.reset": (
        "Too many attempts to set a password.",
        FormPage(ResetForm, "auth/reset.html", {"email": None}),
    ),
}


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded) -> Response:
    seconds = seconds_until_reset()
    if request.endpoint == "auth.send_again" and seconds is not None:
        refusal = f"{MANY_LINKS} You can send it again {describe_wait(seconds)}."
        return too_many(inbox_page(EmailForm(), refusal), seconds)
    return refused_form_page(error, REFUSED_FORMS)
