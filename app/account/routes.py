"""The signed-in user's own settings."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, TypeVar

from flask import (
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
from markupsafe import Markup
from werkzeug import Response

from app.account.blueprint import bp
from app.account.forms import (
    DeleteAccountForm,
    DisableTwoFactorForm,
    EmailChangeForm,
    EnableTwoFactorForm,
    PasswordForm,
    ProfileForm,
    RecoveryCodesForm,
)
from app.dates import DEFAULT_ZONE
from app.extensions import limiter
from app.models import UserSession
from app.models.base import utcnow
from app.services import (
    account_data,
    accounts,
    email_change,
    reauthentication,
    security_log,
    sessions,
    two_factor,
    two_factor_setup,
)
from app.services.browsers import describe_browser
from app.services.passwords import WeakPassword
from app.services.tokens import InvalidLink
from app.web.errors import FormPage, refused_form_page, too_many
from app.web.forms import ConfirmForm, Form, add_error, form_status
from app.web.ratelimits import (
    count_wrong_answer,
    describe_wait,
    seconds_until_reset,
    setting,
    user_key,
    wrong_answer,
)
from app.web.security import client_info
from app.web.sign_in_cookie import (
    current_session,
    forget_sign_in,
    login_required,
    sign_out,
)

# The forms that check the current password share one count per member, so that a
# stolen session gets ACCOUNT_LIMIT guesses in all, not that many per form. Only
# wrong answers count: the owner, who knows the password, is never the one refused.
# A session within its reauthentication window is checked for nothing, so guesses
# in another session (a thief's) do not refuse it.
PASSWORD_CHECKS = limiter.shared_limit(
    setting("ACCOUNT_LIMIT"),
    scope="account-password-checks",
    key_func=user_key,
    methods=["POST"],
    deduct_when=wrong_answer,
    exempt_when=lambda: reauthentication.window_open(current_session()),
)

Page = str | Response | tuple[str, int]
AnyForm = TypeVar("AnyForm", bound=Form)


def confirmation_asked(form: AnyForm, *fields: str) -> AnyForm:
    """Leave out the fields that confirm who asks while the session's window is open.

    `fields` name them (the password and both code fields by default). Once the session
    confirmed its password on a settings form, settings ask for nothing more for a
    few minutes (app/services/reauthentication.py).
    """
    if reauthentication.window_open(current_session()):
        for name in fields or ("password", "code", "recovery_code"):
            if name in form:
                del form[name]
    return form


def _typed(form: Form, name: str) -> str:
    """Return what was typed in the field `name`, or "" where it was not asked for."""
    return str(form[name].data or "") if name in form else ""


@bp.context_processor
def reauthentication_window() -> dict[str, str | None]:
    # The settings forms say when they ask for the password again ("in 4 minutes").
    ends = reauthentication.window_ends(current_session())
    return {
        "asks_again": None
        if ends is None
        else describe_wait((ends - utcnow()).total_seconds())
    }


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> Page:
    form = ProfileForm()
    if request.method == "GET":
        form.name.data = current_user.name
        form.bio.data = current_user.bio
        form.listed.data = current_user.is_listed
        form.time_zone.data = current_user.time_zone or DEFAULT_ZONE
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                current_user.id,
                name=form.name.data or "",
                bio=form.bio.data or "",
                is_listed=form.listed.data,
                time_zone=form.time_zone.data,
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
    form = confirmation_asked(PasswordForm(), "current")
    if form.validate_on_submit():
        try:
            ended = accounts.change_password(
                current_user.id,
                _typed(form, "current"),
                form.password.data or "",
                keep=current_session(),
                client=client_info(),
            )
        except accounts.WrongPassword:
            count_wrong_answer()
            add_error(form.current, "That is not your current password.")
        except WeakPassword as error:
            add_error(form.password, error.reason)
        else:
            flash(f"Password changed.{sessions.signed_out_note(ended)}", "success")
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
    entries.sort(key=lambda entry: not entry.current)  # this browser first
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
    form = confirmation_asked(EmailChangeForm())
    if form.validate_on_submit():
        try:
            new_email = email_change.request_email_change(
                current_user.id,
                form.email.data or "",
                _typed(form, "password"),
                current_session(),
            )
        except accounts.WrongPassword:
            count_wrong_answer()
            add_error(form.password, "That is not your password.")
        except email_change.SameAddress:
            add_error(form.email, "That is your address already.")
        else:
            flash(
                f"We sent a link to {new_email}. Your account moves to "
                "that address when you open it; until then, nothing changes.",
                "success",
            )
            return redirect(url_for("account.email"))
    return render_template("account/email.html", form=form), form_status(form)


@bp.get("/two-factor", endpoint="two_factor")
@login_required
def two_factor_page() -> str:
    return _two_factor_page()


def _two_factor_page(
    form: EnableTwoFactorForm | DisableTwoFactorForm | RecoveryCodesForm | None = None,
) -> str:
    """Render the two-factor page as it is now, with `form` as it was posted, if any.

    While two-factor is off it enrols: a QR code and the secret as text (a new one,
    unless `form` carries a secret still good), then a code and the password.
    """
    if current_user.totp_secret is not None:
        return render_template(
            "account/two_factor.html",
            disable_form=form
            if isinstance(form, DisableTwoFactorForm)
            else confirmation_asked(DisableTwoFactorForm(formdata=None)),
            codes_form=form
            if isinstance(form, RecoveryCodesForm)
            else confirmation_asked(RecoveryCodesForm(formdata=None)),
            codes_left=two_factor.recovery_codes_left(current_user.id),
        )
    if not isinstance(form, EnableTwoFactorForm):
        form = confirmation_asked(EnableTwoFactorForm(formdata=None), "password")
    try:
        secret = two_factor_setup.read_enrolment(
            current_user, form.enrolment.data or ""
        )
    except InvalidLink:
        form.enrolment.data = two_factor_setup.new_enrolment(current_user)
        secret = two_factor_setup.read_enrolment(current_user, form.enrolment.data)
    uri = two_factor_setup.provisioning_uri(current_user, secret)
    return render_template(
        "account/two_factor_setup.html",
        form=form,
        # segno's markup, made from our own URI: no user text goes into it unescaped
        qr_code=Markup(two_factor_setup.qr_code_svg(uri)),  # noqa: S704  # nosec B704
        secret=two_factor_setup.display_secret(secret),
    )


ALREADY_ON = "Two-factor sign-in is already on."
ALREADY_OFF = "Two-factor sign-in is already off."
WRONG_CODE = (
    "That is not the code. Check that your app shows the code for Vestibule and "
    "your phone's clock is right."
)
REUSED_CODE = "That code was used already. Wait for your app to show the next one."


def _refuse_code(form: Form, error: two_factor.WrongCode) -> None:
    """Say why a code was refused; a wrong one counts as a guess, a reused one not
    (it was right once: the owner typing the code they just signed in with)."""
    if not isinstance(error, two_factor.ReusedCode):
        count_wrong_answer()
    add_error(form["code"], _why_refused(error))


def _why_refused(error: two_factor.WrongCode) -> str:
    """Say why a code (the app's, or a recovery code) was refused."""
    if isinstance(error, two_factor.ReusedCode):
        return REUSED_CODE
    return WRONG_CODE + " Or enter a recovery code."


@bp.post("/two-factor")
@login_required
@PASSWORD_CHECKS
def enable_two_factor() -> Page:
    if current_user.totp_secret is not None:
        flash(ALREADY_ON, "info")
        return redirect(url_for("account.two_factor"))
    form = confirmation_asked(EnableTwoFactorForm(), "password")
    if form.validate_on_submit():
        try:
            secret = two_factor_setup.read_enrolment(
                current_user, form.enrolment.data or ""
            )
            codes, ended = two_factor_setup.enable(
                current_user.id,
                secret,
                _typed(form, "password"),
                form.code.data or "",
                client_info(),
                keep=current_session(),
            )
        except InvalidLink:
            form.form_errors.append(
                "This page was open too long and its QR code expired. Scan the new "
                "one below, then enter a code from your app."
            )
        except accounts.WrongPassword:
            count_wrong_answer()
            add_error(form.password, "That is not your password.")
        except two_factor.WrongCode:  # the new app's code: no guess at a secret
            add_error(form.code, WRONG_CODE)
        except two_factor_setup.AlreadyOn:
            flash(ALREADY_ON, "info")
            return redirect(url_for("account.two_factor"))
        else:
            if ended:
                flash(sessions.signed_out_note(ended).strip(), "info")
            return _recovery_codes_page(codes, turned_on=True)
    return _two_factor_page(form), form_status(form)


def _recovery_codes_page(codes: list[str], *, turned_on: bool) -> str:
    # Shown once, in the answer to the post: they are stored hashed.
    return render_template(
        "account/recovery_codes.html", codes=codes, turned_on=turned_on
    )


@bp.post("/two-factor/disable")
@login_required
@PASSWORD_CHECKS
def disable_two_factor() -> Page:
    if current_user.totp_secret is None:
        flash(ALREADY_OFF, "info")
        return redirect(url_for("account.two_factor"))
    form = confirmation_asked(DisableTwoFactorForm())
    if form.validate_on_submit():
        try:
            two_factor_setup.disable(
                current_user.id,
                _typed(form, "password"),
                _typed(form, "code"),
                client_info(),
                current_session(),
            )
        except accounts.WrongPassword:
            count_wrong_answer()
            add_error(form.password, "That is not your password.")
        except two_factor.WrongCode as error:
            _refuse_code(form, error)
        except two_factor.NotOn:
            flash(ALREADY_OFF, "info")
            return redirect(url_for("account.two_factor"))
        else:
            flash(
                "Two-factor sign-in is off: signing in takes your password alone.",
                "success",
            )
            return redirect(url_for("account.two_factor"))
    return _two_factor_page(form), form_status(form)


@bp.post("/two-factor/recovery-codes")
@login_required
@PASSWORD_CHECKS
def renew_recovery_codes() -> Page:
    if current_user.totp_secret is None:
        flash(ALREADY_OFF, "info")
        return redirect(url_for("account.two_factor"))
    form = confirmation_asked(RecoveryCodesForm())
    if form.validate_on_submit():
        try:
            codes = two_factor_setup.renew_recovery_codes(
                current_user.id,
                _typed(form, "password"),
                _typed(form, "code"),
                client_info(),
                current_session(),
            )
        except accounts.WrongPassword:
            count_wrong_answer()
            add_error(form.password, "That is not your password.")
        except two_factor.WrongCode as error:
            _refuse_code(form, error)
        except two_factor.NotOn:
            flash(ALREADY_OFF, "info")
            return redirect(url_for("account.two_factor"))
        else:
            return _recovery_codes_page(codes, turned_on=False)
    return _two_factor_page(form), form_status(form)


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
    form = confirmation_asked(DeleteAccountForm())
    if form.validate_on_submit():
        if (
            current_user.totp_secret is not None
            and "code" in form
            and not _typed(form, "code").strip()
        ):
            add_error(form.code, "Enter the code from your app, or a recovery code.")
            return render_template("account/delete.html", form=form), 422
        try:
            account_data.delete_account(
                current_user.id,
                _typed(form, "password"),
                _typed(form, "code"),
                client_info(),
                current_session(),
            )
        except accounts.WrongPassword:
            count_wrong_answer()
            add_error(form.password, "That is not your password.")
        except two_factor.WrongCode as error:
            _refuse_code(form, error)
        else:
            forget_sign_in()
            flash("Your account is deleted. Goodbye!", "success")
            return redirect(url_for("main.index"))
    return render_template("account/delete.html", form=form), form_status(form)


TWO_FACTOR_FORMS = {
    "account.enable_two_factor": EnableTwoFactorForm,
    "account.disable_two_factor": DisableTwoFactorForm,
    "account.renew_recovery_codes": RecoveryCodesForm,
}


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded) -> Response:
    two_factor_form = TWO_FACTOR_FORMS.get(request.endpoint or "")
    seconds = seconds_until_reset()
    if two_factor_form is not None and seconds is not None:
        form = two_factor_form()
        form.form_errors.append(
            f"Too many password attempts. Please try again {describe_wait(seconds)}."
        )
        return too_many(_two_factor_page(form), seconds)
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
