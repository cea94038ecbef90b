"""The links an e-mail change mails: confirm the new address, or undo the move."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.auth.blueprint import Page, bp
from app.auth.check_inbox import ADDRESS_BACK, to_check_inbox
from app.auth.link_pages import forget_sign_in_of, link_failed
from app.extensions import limiter
from app.services import email_change
from app.services.tokens import InvalidLink
from app.web.forms import ConfirmForm, form_status
from app.web.ratelimits import ip_key, setting
from app.web.security import client_info

TAKEN_MEANWHILE = _l("Another account took that address meanwhile; nothing changed.")


@bp.route("/email-change/<token>", methods=["GET", "POST"])
@limiter.limit(setting("LOGIN_LIMIT_PER_IP"), key_func=ip_key, methods=["POST"])
def confirm_email_change(token: str) -> Page:
    try:
        new_email = email_change.read_change_link(token)[1]
    except InvalidLink as error:
        return link_failed(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            email_change.confirm_email_change(token, client_info())
        except email_change.AddressTaken:
            flash(str(TAKEN_MEANWHILE), "error")
            return redirect(url_for("main.index"))
        except InvalidLink as error:  # used in another tab meanwhile
            return link_failed(error)
        flash(
            _("Your account now signs in with %(email)s.", email=new_email), "success"
        )
        return redirect(url_for("main.index"))
    return render_template(
        "auth/email_change.html", form=form, email=new_email
    ), form_status(form)


@bp.route("/email-undo/<token>", methods=["GET", "POST"])
@limiter.limit(setting("LOGIN_LIMIT_PER_IP"), key_func=ip_key, methods=["POST"])
def undo_email_change(token: str) -> Page:
    try:
        link = email_change.read_undo_link(token)
    except InvalidLink as error:
        return link_failed(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            email_change.undo_email_change(token, client_info())
        except email_change.AddressTaken:
            flash(str(TAKEN_MEANWHILE), "error")
            return redirect(url_for("main.index"))
        except InvalidLink as error:
            return link_failed(error)
        forget_sign_in_of(link.user)
        flash(
            _(
                "Your account is back at its old address, and every browser is "
                "signed out. Its password no longer works."
            ),
            "success",
        )
        return to_check_inbox(link.old_email, after=ADDRESS_BACK)
    return render_template(
        "auth/email_undo.html", form=form, email=link.old_email
    ), form_status(form)
