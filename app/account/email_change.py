"""Moving the account to another address: the link goes to the new one."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.account.blueprint import bp
from app.account.confirmation import (
    PASSWORD_CHECKS,
    Page,
    confirmation_asked,
    refuse_password,
    typed,
)
from app.account.forms import EmailChangeForm
from app.services import accounts, email_change
from app.web.forms import add_error, form_status
from app.web.sign_in_cookie import current_session, login_required


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
                typed(form, "password"),
                current_session(),
            )
        except accounts.WrongPassword:
            refuse_password(form)
        except email_change.SameAddress:
            add_error(form.email, _("That is your address already."))
        else:
            flash(
                _(
                    "We sent a link to %(email)s. Your account moves to that "
                    "address when you open it; until then, nothing changes.",
                    email=new_email,
                ),
                "success",
            )
            return redirect(url_for("account.email"))
    return render_template("account/email.html", form=form), form_status(form)
