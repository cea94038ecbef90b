"""The signed-in user's own settings."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from werkzeug import Response

from app.account.forms import (
    DeleteAccountForm,
    EmailChangeForm,
    PasswordForm,
    ProfileForm,
)
from app.errors import FormPage, refused_form_page
from app.extensions import limiter
from app.forms import ConfirmForm, add_error, form_status
from app.models import UserSession
from app.ratelimits import setting, user_key
from app.security import client_info
from app.services import account_data, accounts, email_change, security_log, sessions
from app.services.browsers import describe_browser
from app.services.email_address import mask_email
from app.services.passwords import WeakPassword
from app.sign_in_cookie import (
    current_session,
    forget_sign_in,
    login_required,
    sign_out,
)

bp = Blueprint("account", __name__, url_prefix="/account")

# The forms that check the current password share one count per member, so that a
# stolen session gets ACCOUNT_LIMIT guesses in all, not that many per form.
PASSWORD_CHECKS = limiter.shared_limit(
    setting("ACCOUNT_LIMIT"),
    scope="account-password-checks",
    key_func=user_key,
    methods=["POST"],
)

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
@PASSWORD_CHECKS
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


class SessionEntry(NamedTuple):
    """A session as the sessions page lists it."""

    session: UserSession
    browser: str
    current: bool


class EventEntry(NamedTuple):
    """A security event as the log page shows it."""

    description: str
    created_at: datetime
    ip: str
    browser: str


OUT_OF_DATE = "That page was out of date; here is the list as it is now."


@bp.get("/sessions")
@login_required
def sessions_page() -> str:
    current = current_session()
    entries = [
        SessionEntry(
            user_session,
            describe_browser(user_session.user_agent),
            current is not None and user_session.id == current.id,
        )
        for user_session in sessions.list_sessions(current_user.id)
    ]
    return render_template("account/sessions.html", sessions=entries)


@bp.post("/sessions/<int:session_id>/revoke")
@login_required
def revoke_session(session_id: int) -> Response:
    if not ConfirmForm().validate_on_submit():  # a genuine token, but stale
        flash(OUT_OF_DATE, "info")
        return redirect(url_for("account.sessions_page"))
    current = current_session()
    if current is not None and current.id == session_id:
        sign_out(client_info())
        flash("You signed out of this browser.", "success")
        return redirect(url_for("auth.login"))
    try:
        sessions.revoke_session(current_user.id, session_id, client_info())
    except sessions.SessionNotFound:
        abort(404)
    flash("That session is ended: the browser is signed out.", "success")
    return redirect(url_for("account.sessions_page"))


@bp.post("/sessions/revoke-others")
@login_required
def revoke_other_sessions() -> Response:
    current = current_session()
    if current is not None and ConfirmForm().validate_on_submit():
        sessions.revoke_other_sessions(current, client_info())
        flash("Every other browser is signed out.", "success")
    else:
        flash(OUT_OF_DATE, "info")
    return redirect(url_for("account.sessions_page"))


@bp.get("/security")
@login_required
def security() -> str:
    result = security_log.list_events(
        current_user.id,
        request.args.get("page", 1, type=int) or 1,
        current_app.config["SECURITY_LOG_PAGE_SIZE"],
    )
    entries = [
        EventEntry(
            security_log.describe_event(event.kind),
            event.created_at,
            event.ip,
            describe_browser(event.user_agent),
        )
        for event in result.events
    ]
    return render_template("account/security.html", result=result, events=entries)


@bp.route("/email", methods=["GET", "POST"])
@login_required
@PASSWORD_CHECKS
def email() -> Page:
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            new_email = email_change.request_email_change(
                current_user.id, form.email.data or "", form.password.data or ""
            )
        except accounts.WrongPassword:
            add_error(form.password, "That is not your password.")
        except email_change.SameAddress:
            add_error(form.email, "That is your address already.")
        else:
            flash(
                f"We sent a link to {mask_email(new_email)}. Your account moves to "
                "that address when you open it; until then, nothing changes.",
                "success",
            )
            return redirect(url_for("account.email"))
    return render_template("account/email.html", form=form), form_status(form)


@bp.get("/export")
@login_required
def export() -> Response:
    response = jsonify(account_data.export_account(current_user.id))
    response.headers["Content-Disposition"] = (
        'attachment; filename="vestibule-account.json"'
    )
    return response


@bp.route("/delete", methods=["GET", "POST"])
@login_required
@PASSWORD_CHECKS
def delete() -> Page:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            account_data.delete_account(current_user.id, form.password.data or "")
        except accounts.WrongPassword:
            add_error(form.password, "That is not your password.")
        else:
            forget_sign_in()
            flash("Your account is deleted. Goodbye!", "success")
            return redirect(url_for("main.index"))
    return render_template("account/delete.html", form=form), form_status(form)


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded) -> Response:
    return refused_form_page(
        error,
        {
            "account.password": (
                "Too many password attempts.",
                FormPage(PasswordForm, "account/password.html"),
            ),
            "account.email": (
                "Too many password attempts.",
                FormPage(EmailChangeForm, "account/email.html"),
            ),
            "account.delete": (
                "Too many password attempts.",
                FormPage(DeleteAccountForm, "account/delete.html"),
            ),
        },
    )
