"""The member's data: downloading all of it, and deleting the account."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug import Response

from app.account.blueprint import bp
from app.account.confirmation import (
    PASSWORD_CHECKS,
    Page,
    confirmation_asked,
    refuse_code,
    refuse_password,
    typed,
)
from app.account.forms import DeleteAccountForm
from app.services import account_data, accounts, two_factor
from app.web.forms import add_error, form_status
from app.web.security import client_info
from app.web.sign_in_cookie import current_session, forget_sign_in, login_required


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
            and not typed(form, "code").strip()
        ):
            add_error(form.code, _("Enter the code from your app, or a recovery code."))
            return render_template("account/delete.html", form=form), 422
        try:
            account_data.delete_account(
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
        else:
            forget_sign_in()
            flash(_("Your account is deleted. Goodbye!"), "success")
            return redirect(url_for("main.index"))
    return render_template("account/delete.html", form=form), form_status(form)
