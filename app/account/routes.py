"""The signed-in user's own settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from werkzeug import Response

from app.account.forms import PasswordForm, ProfileForm
from app.errors import FormPage, refused_form_page
from app.extensions import limiter
from app.forms import add_error, form_status
from app.ratelimits import setting, user_key
from app.security import client_info
from app.services import accounts
from app.services.passwords import WeakPassword
from app.sign_in_cookie import current_session, login_required

bp = Blueprint("account", __name__, url_prefix="/account")

Page = str | Response | tuple[str, int]


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> Page:
    form = ProfileForm()
    if request.method == "GET":
        form.name.data = current_user.name
        form.bio.data = current_user.bio
        form.listed.data = current_user.is_listed
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                current_user.id,
                name=form.name.data or "",
                bio=form.bio.data or "",
                is_listed=form.listed.data,
            )
        except accounts.InvalidProfile as error:
            add_error(form[error.field], str(error))
        else:
            flash("Your profile is saved.", "success")
            return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form), form_status(form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(setting("ACCOUNT_LIMIT"), key_func=user_key, methods=["POST"])
def password() -> Page:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user.id,
                form.current.data or "",
                form.password.data or "",
                keep=current_session(),
                client=client_info(),
            )
        except accounts.WrongPassword:
            add_error(form.current, "That is not your current password.")
        except WeakPassword as error:
            add_error(form.password, error.reason)
        else:
            flash("Password changed. Your other sessions were signed out.", "success")
            return redirect(url_for("account.password"))
    return render_template("account/password.html", form=form), form_status(form)


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded) -> Response:
    return refused_form_page(
        error,
        {
            "account.password": (
                "Too many password attempts.",
                FormPage(PasswordForm, "account/password.html"),
            )
        },
    )
