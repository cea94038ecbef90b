"""The member's profile: name, bio, listing in the directory, time zone and language."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.account.blueprint import bp
from app.account.confirmation import Page
from app.account.forms import ProfileForm
from app.dates import DEFAULT_ZONE
from app.services import accounts
from app.web.forms import add_error, form_status
from app.web.language import page_language
from app.web.sign_in_cookie import login_required


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> Page:
    # The language shown chosen: the member's, else the one this page is in.
    form = ProfileForm(language=current_user.language or page_language())
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
                language=form.chosen_language(),
            )
        except accounts.InvalidProfile as error:
            add_error(form[error.field], str(error))
        else:
            # said in the language chosen, which the next page is in
            with force_locale(current_user.language or page_language()):
                flash(_("Your profile is saved."), "success")
            return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form), form_status(form)
