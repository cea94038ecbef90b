"""Changing the password, which signs the member's other sessions out."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.account.blueprint import bp
from app.account.confirmation import (
    PASSWORD_CHECKS,
    Page,
    confirmation_asked,
    typed,
)
from app.account.forms import PasswordForm
from app.services import accounts, sessions
from app.services.passwords import WeakPassword
from app.web.forms import add_error, form_status
from app.web.ratelimits import count_wrong_answer
from app.web.security import client_info
from app.web.sign_in_cookie import current_session, login_required


@bp.route("/password", methods=["GET", "POST"])
@login_required
@PASSWORD_CHECKS
def password() -> Page:
    form = confirmation_asked(PasswordForm(), "current")
    if form.validate_on_submit():
        try:
            ended = accounts.change_password(
                current_user.id,
                typed(form, "current"),
                form.password.data or "",
                keep=current_session(),
                client=client_info(),
            )
        except accounts.WrongPassword:
            count_wrong_answer()
            add_error(form.current, _("That is not your current password."))
        except WeakPassword as error:
            add_error(form.password, error.reason)
        else:
            # two sentences: the second, with its leading space, only when it ended any
            flash(_("Password changed.") + sessions.signed_out_note(ended), "success")
            return redirect(url_for("account.password"))
    return render_template("account/password.html", form=form), form_status(form)
