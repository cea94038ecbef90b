"""Sign-up, e-mail verification, sign-in, sign-out and password recovery."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug import Response

from app.auth.forms import EmailForm, LoginForm, RegisterForm, ResetForm
from app.extensions import limiter
from app.forms import add_error, form_status
from app.ratelimits import email_key, failed_sign_in, ip_email_key, ip_key, setting
from app.security import client_info, safe_next
from app.services import accounts, recovery, signin
from app.services.passwords import WeakPassword
from app.services.tokens import ExpiredLink, InvalidLink
from app.session_cookie import current_session, sign_in, sign_out

bp = Blueprint("auth", __name__, url_prefix="/auth")

Page = str | Response | tuple[str, int]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(setting("REGISTER_LIMIT"), key_func=ip_key, methods=["POST"])
def register() -> Page:
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            accounts.register_user(
                form.name.data or "", form.email.data or "", form.password.data or ""
            )
        except WeakPassword as error:
            add_error(form.password, error.reason)
        except accounts.InvalidProfile as error:
            add_error(form.name, str(error))
        else:
            return redirect(url_for("auth.check_inbox"))
    return render_template("auth/register.html", form=form), form_status(form)


@bp.route("/check-inbox")
def check_inbox() -> str:
    return render_template("auth/check_inbox.html")


@bp.route("/verify/<token>")
def verify(token: str) -> Page:
    try:
        user = accounts.verify_email(
            token, current_app.config["VERIFY_TOKEN_MAX_AGE"], client_info()
        )
    except accounts.AlreadyVerified:
        flash("Your e-mail address is already verified. Please sign in.", "info")
        return redirect(url_for("auth.login"))
    except InvalidLink as error:
        expired = isinstance(error, ExpiredLink)
        return render_template(
            "auth/verify_failed.html", form=EmailForm(), expired=expired
        ), 400
    sign_in(user.id, remember=False, client=client_info())
    flash("Your e-mail address is verified. Welcome to Vestibule!", "success")
    return redirect(url_for("main.index"))


@bp.route("/verify/resend", methods=["POST"])
@limiter.limit(setting("MAIL_LINK_LIMIT"), key_func=ip_email_key)
def verify_resend() -> Page:
    form = EmailForm()
    if form.validate_on_submit():
        accounts.resend_verification(form.email.data or "")
        return redirect(url_for("auth.check_inbox"))
    return render_template("auth/verify_failed.html", form=form, expired=False), 422


# The sign-in page is the most viewed page: GET and POST are two views so that
# showing it skips the rate limiter, which cost it 7 %; only posting is limited.
@bp.get("/login")
def login() -> Page:
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data, url_for("main.index")))
    return render_template("auth/login.html", form=form, problem=None)


@bp.post("/login")
@limiter.limit(setting("LOGIN_LIMIT_PER_IP"), key_func=ip_key)
@limiter.limit(
    setting("LOGIN_LIMIT_PER_EMAIL"), key_func=ip_email_key, deduct_when=failed_sign_in
)
@limiter.limit(
    setting("LOGIN_LIMIT_PER_ACCOUNT"), key_func=email_key, deduct_when=failed_sign_in
)
def login_submit() -> Page:
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data, url_for("main.index")))
    problem = None
    if form.validate_on_submit():
        try:
            user_id = signin.authenticate(
                form.email.data or "", form.password.data or "", client_info()
            )
        except signin.BadCredentials:
            problem = "bad_credentials"
        except signin.Unverified:
            problem = "unverified"
        except signin.Inactive:
            problem = "inactive"
        else:
            sign_in(user_id, remember=form.remember.data, client=client_info())
            return redirect(safe_next(form.next.data, url_for("main.index")))
    status = {"bad_credentials": 401, "unverified": 403, "inactive": 403}.get(
        problem or "", form_status(form)
    )
    resend_form = EmailForm(email=form.email.data) if problem == "unverified" else None
    return render_template(
        "auth/login.html", form=form, problem=problem, resend_form=resend_form
    ), status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    # check_csrf already refused forged posts; an expired but genuine token may sign out
    sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("main.index"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(setting("MAIL_LINK_LIMIT"), key_func=ip_email_key, methods=["POST"])
def forgot() -> Page:
    form = EmailForm()
    if form.validate_on_submit():
        recovery.request_password_reset(form.email.data or "")
        return redirect(url_for("auth.check_inbox"))
    return render_template("auth/forgot.html", form=form), form_status(form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Page:
    max_age = current_app.config["RESET_TOKEN_MAX_AGE"]
    try:
        recovery.user_for_reset(token, max_age)
    except InvalidLink as error:
        expired = isinstance(error, ExpiredLink)
        return render_template(
            "auth/reset_failed.html", form=EmailForm(), expired=expired
        ), 400
    form = ResetForm()
    if form.validate_on_submit():
        try:
            recovery.reset_password(
                token,
                form.password.data or "",
                max_age=max_age,
                keep=current_session(),
                client=client_info(),
            )
        except WeakPassword as error:
            add_error(form.password, error.reason)
        else:
            flash(
                "Your password was changed. Every other session was signed out.",
                "success",
            )
            if current_user.is_authenticated:
                return redirect(url_for("main.index"))
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), form_status(form)
