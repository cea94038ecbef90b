"""Signing in with a passkey: on its own, or as the second step after a password.

Each ceremony has two posts: passkeys.js asks for its options (JSON, which keeps
a challenge for this browser), lets the browser sign them, and posts the answer
in a plain form, whose result is a page or a redirect as a password's is.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.blueprint import Page, bp
from app.auth.forms import (
    LoginForm,
    PasskeySecondStepForm,
    PasskeySignInForm,
    TwoFactorForm,
)
from app.dates import describe_duration
from app.services import (
    lockouts,
    passkey_assertions,
    passkeys,
    sign_in,
)
from app.services.passkey_sign_in import (
    finish_second_step_with_passkey,
    sign_in_with_passkey,
)
from app.web.passkeys import (
    PASSKEY_SIGN_INS,
    challenge_keys,
    options_answer,
    refusal_answer,
    refused_post,
    unavailable_here,
)
from app.web.pending_sign_in import pending_sign_in, trust_this_browser
from app.web.security import client_info, safe_next
from app.web.sign_in_cookie import set_sign_in_cookie

NO_ANSWER = _l(
    "Your browser sent no passkey. Signing in with a passkey needs JavaScript "
    "and a browser that supports passkeys; sign in with your password instead."
)


@bp.post("/passkey/options")
@PASSKEY_SIGN_INS
def passkey_options() -> Page:
    refused = refused_post()
    if refused is not None:
        return refused
    reason = unavailable_here()
    if reason is not None:
        return refusal_answer(reason, 409)
    return options_answer(*passkey_assertions.sign_in_options())


@bp.post("/passkey")
@PASSKEY_SIGN_INS
def passkey_sign_in() -> Page:
    form = PasskeySignInForm()
    next_url = safe_next(form.next.data, url_for("main.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    if not form.validate_on_submit():
        return _login_again(form, None, 400)
    if not form.credential.data:
        return _login_again(form, str(NO_ANSWER), 400)
    try:
        signed_in = sign_in_with_passkey(
            challenge_keys(),
            form.credential.data,
            client_info(),
            remember=form.remember.data,
            time_zone=form.time_zone.data or "",
        )
    except passkeys.PasskeyError as error:
        return _login_again(form, str(error), 401)
    except sign_in.Inactive:
        return _login_again(
            form,
            _(
                "This account has been deactivated. Contact the site's operators "
                "if you think this is a mistake."
            ),
            403,
        )
    set_sign_in_cookie(signed_in.token, signed_in.remember)
    return redirect(next_url)


def _login_again(form: PasskeySignInForm, refusal: str | None, status: int) -> Page:
    """The sign-in page again, saying why the passkey did not sign in."""
    login_form = LoginForm(formdata=None, next=form.next.data or "")
    if refusal is not None:
        login_form.form_errors.append(refusal)
    return render_template(
        "auth/login.html",
        form=login_form,
        problem=None,
        passkey_form=form,
        passkeys_unavailable=unavailable_here(),
    ), status


@bp.post("/two-factor/passkey/options")
@PASSKEY_SIGN_INS
def second_step_passkey_options() -> Page:
    refused = refused_post()
    if refused is not None:
        return refused
    pending = pending_sign_in()
    if pending is None:
        return refusal_answer(
            _(
                "This sign-in no longer waits for its second step. Please sign in "
                "again."
            ),
            409,
        )
    reason = unavailable_here()
    if reason is not None:
        return refusal_answer(reason, 409)
    return options_answer(*passkey_assertions.second_step_options(pending.user))


@bp.post("/two-factor/passkey")
@PASSKEY_SIGN_INS
def second_step_passkey() -> Page:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    pending = pending_sign_in()
    if pending is None:
        return redirect(url_for("auth.two_factor"))  # which says why
    form = PasskeySecondStepForm()
    refusal = None
    if form.validate_on_submit():
        if not form.credential.data:
            refusal = str(NO_ANSWER)
        else:
            try:
                signed_in = finish_second_step_with_passkey(
                    pending.user,
                    challenge_keys(),
                    form.credential.data,
                    client_info(),
                    remember=pending.remember,
                    time_zone=pending.time_zone,
                    trust=form.trust.data,
                )
            except lockouts.LockedOut as error:
                refusal = _(
                    "Too many failed sign-ins for this account. Please try again "
                    "in %(duration)s.",
                    duration=describe_duration(error.wait.total_seconds()),
                )
            except passkeys.PasskeyError as error:
                refusal = str(error)
            else:
                set_sign_in_cookie(signed_in.token, signed_in.remember)
                response = redirect(safe_next(pending.next_url, url_for("main.index")))
                if signed_in.trusted_browser is not None:
                    trust_this_browser(response, signed_in.trusted_browser)
                return response
    if refusal is not None:
        form.form_errors.append(refusal)
    code_form = TwoFactorForm(formdata=None)
    return render_template(
        "auth/two_factor.html",
        form=code_form,
        passkey_form=form,
        has_passkeys=True,
        passkeys_unavailable=unavailable_here(),
    ), 401 if refusal is not None else 400


def passkey_sign_in_form() -> PasskeySignInForm:
    """The sign-in page's passkey form, for a page asked with `next` in its address."""
    return PasskeySignInForm(formdata=None, next=request.args.get("next", ""))
