"""Two-factor sign-in: turning it on (enrolment), off, and new recovery codes."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from app.account.blueprint import bp
from app.account.confirmation import (
    PASSWORD_CHECKS,
    WRONG_CODE,
    Page,
    confirmation_asked,
    refuse_code,
    refuse_password,
    typed,
)
from app.account.forms import (
    DisableTwoFactorForm,
    EnableTwoFactorForm,
    RecoveryCodesForm,
)
from app.services import accounts, sessions, two_factor, two_factor_setup
from app.services.tokens import InvalidLink
from app.web.forms import add_error, form_status
from app.web.security import client_info
from app.web.sign_in_cookie import current_session, login_required

ALREADY_ON = _l("Two-factor sign-in is already on.")
ALREADY_OFF = _l("Two-factor sign-in is already off.")

# The posts of the two-factor page, by endpoint, with the form each one posts.
TWO_FACTOR_FORMS = {
    "account.enable_two_factor": EnableTwoFactorForm,
    "account.disable_two_factor": DisableTwoFactorForm,
    "account.renew_recovery_codes": RecoveryCodesForm,
}


@bp.get("/two-factor", endpoint="two_factor")
@login_required
def two_factor_page() -> str:
    return render_two_factor()


def render_two_factor(
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


@bp.post("/two-factor")
@login_required
@PASSWORD_CHECKS
def enable_two_factor() -> Page:
    if current_user.totp_secret is not None:
        flash(str(ALREADY_ON), "info")
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
                typed(form, "password"),
                form.code.data or "",
                client_info(),
                keep=current_session(),
            )
        except InvalidLink:
            form.form_errors.append(
                _(
                    "This page was open too long and its QR code expired. Scan the "
                    "new one below, then enter a code from your app."
                )
            )
        except accounts.WrongPassword:
            refuse_password(form)
        except two_factor.WrongCode:  # the new app's code: no guess at a secret
            add_error(form.code, str(WRONG_CODE))
        except two_factor_setup.AlreadyOn:
            flash(str(ALREADY_ON), "info")
            return redirect(url_for("account.two_factor"))
        else:
            if ended:
                flash(sessions.signed_out_note(ended).strip(), "info")
            return _recovery_codes_page(codes, turned_on=True)
    return render_two_factor(form), form_status(form)


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
        flash(str(ALREADY_OFF), "info")
        return redirect(url_for("account.two_factor"))
    form = confirmation_asked(DisableTwoFactorForm())
    if form.validate_on_submit():
        try:
            two_factor_setup.disable(
                current_user.id,
                typed(form, "password"),
                typed(form, "code"),
                client_info(),
                current_session(),
            )
        except accounts.WrongPassword:
            refuse_password(form)
        except two_factor.WrongCode as error:
            refuse_code(form, error)
        except two_factor.NotOn:
            flash(str(ALREADY_OFF), "info")
            return redirect(url_for("account.two_factor"))
        else:
            flash(
                _("Two-factor sign-in is off: signing in takes your password alone."),
                "success",
            )
            return redirect(url_for("account.two_factor"))
    return render_two_factor(form), form_status(form)


@bp.post("/two-factor/recovery-codes")
@login_required
@PASSWORD_CHECKS
def renew_recovery_codes() -> Page:
    if current_user.totp_secret is None:
        flash(str(ALREADY_OFF), "info")
        return redirect(url_for("account.two_factor"))
    form = confirmation_asked(RecoveryCodesForm())
    if form.validate_on_submit():
        try:
            codes = two_factor_setup.renew_recovery_codes(
                current_user.id,
                typed(form, "password"),
                typed(form, "code"),
                client_info(),
                current_session(),
            )
        except accounts.WrongPassword:
            refuse_password(form)
        except two_factor.WrongCode as error:
            refuse_code(form, error)
        except two_factor.NotOn:
            flash(str(ALREADY_OFF), "info")
            return redirect(url_for("account.two_factor"))
        else:
            return _recovery_codes_page(codes, turned_on=False)
    return render_two_factor(form), form_status(form)
