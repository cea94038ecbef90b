"""Getting back in: a reset link, the lockout mail's unlock, "this wasn't me"."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug import Response

from app.auth.blueprint import Page, bp
from app.auth.check_inbox import (
    ADDRESS_BACK,
    MAIL_LINKS_PER_IP,
    RESET_LINK,
    to_check_inbox,
)
from app.auth.forms import EmailForm, ResetForm
from app.auth.link_pages import forget_sign_in_of, link_failed, sign_in_as
from app.extensions import limiter
from app.models import User
from app.services import lockouts, recovery, sign_in_alerts
from app.services.passwords import WeakPassword
from app.services.tokens import ExpiredLink, InvalidLink
from app.web.forms import ConfirmForm, add_error, form_status
from app.web.ratelimits import ip_email_key, ip_key, refused_form, setting
from app.web.security import client_info
from app.web.sign_in_cookie import current_session


@bp.route("/forgot", methods=["GET", "POST"])
@MAIL_LINKS_PER_IP
@limiter.limit(setting("MAIL_LINK_LIMIT"), key_func=ip_email_key, methods=["POST"])
def forgot() -> Page:
    form = EmailForm()
    if form.validate_on_submit():
        recovery.request_password_reset(form.email.data or "")
        return to_check_inbox(form.email.data or "", after=RESET_LINK)
    return render_template("auth/forgot.html", form=form), form_status(form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(
    setting("RESET_LIMIT"), key_func=ip_key, methods=["POST"], deduct_when=refused_form
)
def reset(token: str) -> Page:
    try:
        user = recovery.user_for_reset(token)
    except InvalidLink as error:
        expired = isinstance(error, ExpiredLink)
        return render_template(
            "auth/reset_failed.html", form=EmailForm(), expired=expired
        ), 400
    form = ResetForm()
    if form.validate_on_submit():
        try:
            ended = recovery.reset_password(
                token,
                form.password.data or "",
                keep=current_session(),
                client=client_info(),
            )
        except WeakPassword as error:
            add_error(form.password, error.reason)
        else:
            return _password_reset(user, ended)
    return render_template(
        "auth/reset.html",
        form=form,
        email=user.email,
    ), form_status(form)


def _password_reset(user: User, ended: int) -> Response:
    # Said from where this browser stands: signed out, signed in to the account (it
    # stays signed in), or signed in to another account; each with how many
    # sessions the new password ended, if any.
    if not current_user.is_authenticated:
        flash(_signed_out_after_reset(ended), "success")
        return sign_in_as(user.email)
    if current_user.id == user.id:
        flash(_others_signed_out_after_reset(ended), "success")
    else:
        flash(_reset_for_another_account(user.email, ended), "success")
    return redirect(url_for("main.index"))


def _signed_out_after_reset(ended: int) -> str:
    if ended == 0:
        return str(_("Your new password is set. You can sign in with it now."))
    return str(
        ngettext(
            "Your new password is set. %(num)d session was signed out. "
            "You can sign in with it now.",
            "Your new password is set. %(num)d sessions were signed out. "
            "You can sign in with it now.",
            ended,
        )
    )


def _others_signed_out_after_reset(ended: int) -> str:
    if ended == 0:
        return str(_("Your new password is set."))
    return str(
        ngettext(
            "Your new password is set. %(num)d other session was signed out.",
            "Your new password is set. %(num)d other sessions were signed out.",
            ended,
        )
    )


def _reset_for_another_account(email: str, ended: int) -> str:
    name = current_user.name
    if ended == 0:
        return str(
            _(
                "The new password of %(email)s is set. "
                "You are still signed in as %(name)s.",
                email=email,
                name=name,
            )
        )
    return str(
        ngettext(
            "The new password of %(email)s is set. %(num)d session was signed out. "
            "You are still signed in as %(name)s.",
            "The new password of %(email)s is set. %(num)d sessions were signed out. "
            "You are still signed in as %(name)s.",
            ended,
            email=email,
            name=name,
        )
    )


@bp.route("/unlock/<token>", methods=["GET", "POST"])
def unlock(token: str) -> Page:
    try:
        lockout = lockouts.read_unlock_link(token)
    except InvalidLink as error:
        return link_failed(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            lockouts.unlock(token, client_info())
        except InvalidLink as error:  # used in another tab meanwhile
            return link_failed(error)
        flash(_("Sign-in is unlocked. You can sign in now."), "success")
        return sign_in_as(lockout.email)
    return render_template(
        "auth/unlock.html", form=form, email=lockout.email
    ), form_status(form)


@bp.route("/not-me/<token>", methods=["GET", "POST"])
@limiter.limit(setting("LOGIN_LIMIT_PER_IP"), key_func=ip_key, methods=["POST"])
def not_me(token: str) -> Page:
    try:
        user = sign_in_alerts.read_not_me_link(token)
    except InvalidLink as error:
        return link_failed(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            sign_in_alerts.report_sign_in(token, client_info())
        except InvalidLink as error:  # used in another tab meanwhile
            return link_failed(error)
        forget_sign_in_of(user)
        flash(
            _(
                "Every browser signed in to your account is signed out and its "
                "password no longer works."
            ),
            "success",
        )
        return to_check_inbox(user.email, after=ADDRESS_BACK)
    return render_template(
        "auth/not_me.html", form=form, email=user.email
    ), form_status(form)
