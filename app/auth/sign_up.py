"""Signing up: the form, the verify link that makes the account, a new link."""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug import Response

from app.auth.blueprint import Page, bp
from app.auth.check_inbox import (
    MAIL_LINKS_PER_IP,
    SIGN_UP,
    VERIFY_LINK,
    to_check_inbox,
)
from app.auth.forms import ConfirmSignUpForm, EmailForm, RegisterForm
from app.extensions import limiter
from app.models import User
from app.services import accounts, sign_in, sign_up
from app.services.passwords import WeakPassword
from app.services.tokens import ExpiredLink, InvalidLink
from app.web.forms import add_error, form_status
from app.web.language import page_language
from app.web.ratelimits import (
    count_wrong_answer,
    ip_email_key,
    ip_key,
    led_to_check_inbox,
    setting,
    wrong_answer,
)
from app.web.security import client_info
from app.web.sign_in_cookie import set_sign_in_cookie

# The state-cookie key of the random key a signing-up browser keeps.
SIGN_UP_KEY = "sign_up_key"


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(setting("REGISTER_ATTEMPT_LIMIT"), key_func=ip_key, methods=["POST"])
@limiter.limit(
    setting("REGISTER_LIMIT"),
    key_func=ip_key,
    methods=["POST"],
    deduct_when=led_to_check_inbox,
)
def register() -> Page:
    if current_user.is_authenticated:  # as the sign-in page does
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            sign_up.register_user(
                form.name.data or "",
                form.email.data or "",
                form.password.data or "",
                browser_key=_sign_up_browser_key(),
                language=page_language(),
            )
        except WeakPassword as error:
            add_error(form.password, error.reason)
        except accounts.InvalidProfile as error:
            add_error(form[error.field], str(error))
        else:
            return to_check_inbox(form.email.data or "", after=SIGN_UP)
    return render_template("auth/register.html", form=form), form_status(form)


def _sign_up_browser_key() -> str:
    # One random key per browser, in its signed state cookie, kept whether or not
    # the address was free, so the cookie tells nobody which addresses exist.
    key: str = session.setdefault(SIGN_UP_KEY, secrets.token_urlsafe(16))
    return key


@bp.route("/verify/<token>", methods=["GET", "POST"])
@limiter.limit(
    setting("LOGIN_LIMIT_PER_IP"),
    key_func=ip_key,
    methods=["POST"],
    deduct_when=wrong_answer,
)
def verify(token: str) -> Page:
    try:
        claim = sign_up.read_claim(token)
    except sign_up.AlreadyVerified as error:
        return _already_verified(error)
    except InvalidLink as error:
        return _verify_failed(error)
    browser_key: str | None = session.get(SIGN_UP_KEY)
    form = ConfirmSignUpForm()
    if form.validate_on_submit():
        try:
            user = sign_up.confirm_sign_up(
                token,
                browser_key=browser_key,
                password=form.password.data or "",
                client=client_info(),
            )
        except sign_up.NotYourSignUp:
            if form.password.data:
                count_wrong_answer()
            add_error(
                form.password,
                _("That is not the password chosen for this sign-up.")
                if form.password.data
                else _("Type the password you chose when you signed up."),
            )
        except sign_up.AlreadyVerified as error:
            return _already_verified(error)
        except InvalidLink as error:
            return _verify_failed(error)
        else:
            return _signed_up(user)
    return render_template(
        "auth/verify.html",
        form=form,
        email=claim.email,
        from_signing_up_browser=sign_up.signed_up_in(claim, browser_key),
    ), form_status(form)


def _signed_up(user: User) -> Response:
    # A member confirming someone else's link stays who they are.
    if current_user.is_authenticated:
        flash(
            _(
                "%(email)s is confirmed. You are still signed in as %(name)s; "
                "sign out to use the new account.",
                email=user.email,
                name=current_user.name,
            ),
            "success",
        )
    else:
        signed_in = sign_in.sign_in_new_member(user, client_info())
        set_sign_in_cookie(signed_in.token, signed_in.remember)
        flash(
            _(
                "Your e-mail address is verified. Welcome to %(brand)s!",
                brand=_("Vestibule"),
            ),
            "success",
        )
    return redirect(url_for("main.index"))


def _already_verified(error: sign_up.AlreadyVerified) -> Response:
    if current_user.is_authenticated and current_user.id == error.user_id:
        flash(_("Your e-mail address is already verified."), "info")
        return redirect(url_for("main.index"))
    flash(_("This address is already verified. Please sign in."), "info")
    return redirect(url_for("auth.login"))


def _verify_failed(error: InvalidLink) -> tuple[str, int]:
    expired = isinstance(error, ExpiredLink)
    return render_template(
        "auth/verify_failed.html", form=EmailForm(), expired=expired
    ), 400


@bp.route("/verify/resend", methods=["POST"])
@MAIL_LINKS_PER_IP
@limiter.limit(setting("MAIL_LINK_LIMIT"), key_func=ip_email_key)
def verify_resend() -> Page:
    form = EmailForm()
    if form.validate_on_submit():
        sign_up.resend_link(form.email.data or "")
        return to_check_inbox(form.email.data or "", after=VERIFY_LINK)
    return render_template("auth/verify_failed.html", form=form, expired=False), 422
