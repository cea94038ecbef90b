"""The member's passkeys: the list, adding one, renaming and removing them.

Adding one asks who is there (the password, and a code with two-factor on,
unless the session's reauthentication window is open) before the browser makes
the passkey: the options' post checks them, so that a wrong password leaves no
passkey behind in the member's password manager.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug import Response

from app.account.blueprint import bp
from app.account.confirmation import (
    PASSWORD_CHECKS,
    Page,
    confirmation_asked,
    typed,
    why_refused,
)
from app.account.forms import AddPasskeyForm, RenamePasskeyForm
from app.services import accounts, passkey_registration, passkeys, two_factor
from app.services.browsers import describe_browser
from app.web.forms import ConfirmForm, add_error, form_status
from app.web.passkeys import (
    PASSKEY_ADDITIONS,
    challenge_keys,
    options_answer,
    refusal_answer,
    unavailable_here,
)
from app.web.ratelimits import count_wrong_answer
from app.web.security import client_info
from app.web.sign_in_cookie import current_session, login_required


@bp.get("/passkeys", endpoint="passkeys")
@login_required
def passkeys_page() -> str:
    return render_passkeys()


def render_passkeys(
    form: AddPasskeyForm | None = None,
    renamed: tuple[int, RenamePasskeyForm] | None = None,
) -> str:
    """Render the passkeys page, with a form as it was posted, if any.

    `renamed` is the passkey whose rename form was posted, and that form.
    """
    if form is None:
        form = AddPasskeyForm(
            formdata=None,
            # named for where it is made, as the sessions page names browsers
            name=describe_browser(request.user_agent.string, version=False),
        )
        form = confirmation_asked(form)
    if current_user.totp_secret is None and "code" in form:
        del form["code"]
        del form["recovery_code"]
    return render_template(
        "account/passkeys.html",
        form=form,
        passkeys=passkeys.list_passkeys(current_user.id),
        renamed=renamed,
        unavailable=unavailable_here(),
    )


@bp.post("/passkeys/options")
@login_required
@PASSKEY_ADDITIONS
@PASSWORD_CHECKS
def passkey_options() -> Response:
    form = confirmation_asked(AddPasskeyForm())
    reason = unavailable_here()
    if reason is not None:
        return refusal_answer(reason, 409)
    user_session = current_session()
    if not form.validate_on_submit() or user_session is None:
        errors = [str(error) for errors in form.errors.values() for error in errors]
        return refusal_answer(" ".join(errors) or _("Please try again."), 422)
    try:
        answer = passkey_registration.registration_options(
            current_user,
            user_session,
            typed(form, "password"),
            typed(form, "code"),
            client_info(),
        )
    except accounts.WrongPassword:
        count_wrong_answer()
        return refusal_answer(_("That is not your password."), 422)
    except two_factor.WrongCode as error:
        if not isinstance(error, two_factor.ReusedCode):
            count_wrong_answer()
        return refusal_answer(why_refused(error), 422)
    return options_answer(*answer)


@bp.post("/passkeys")
@login_required
def add_passkey() -> Page:
    form = AddPasskeyForm()
    # who asks was confirmed when the options were made: the challenge is the proof
    for name in ("password", "code", "recovery_code"):
        del form[name]
    user_session = current_session()
    if form.validate_on_submit() and user_session is not None:
        if not form.credential.data:
            form.form_errors.append(
                _(
                    "Your browser sent no passkey. Adding a passkey needs JavaScript "
                    "and a browser that supports passkeys."
                )
            )
        else:
            try:
                passkey = passkey_registration.add_passkey(
                    current_user,
                    user_session,
                    challenge_keys(),
                    form.credential.data,
                    form.name.data or "",
                    client_info(),
                )
            except passkeys.InvalidPasskeyName as error:
                add_error(form.name, str(error))
            except passkeys.PasskeyError as error:
                form.form_errors.append(str(error))
            else:
                flash(
                    _(
                        "Passkey “%(name)s” added: you can sign in with it now.",
                        name=passkey.name,
                    ),
                    "success",
                )
                return redirect(url_for("account.passkeys"))
    return render_passkeys(_with_confirmation(form)), 422


def _with_confirmation(posted: AddPasskeyForm) -> AddPasskeyForm:
    """The add form as posted, with the fields that confirm who asks, as the page
    shows them (they were not part of the post's check)."""
    form = confirmation_asked(AddPasskeyForm(formdata=None, name=posted.name.data))
    form.name.errors = list(posted.name.errors)
    form.form_errors = list(posted.form_errors)
    return form


@bp.post("/passkeys/<int:passkey_id>/rename")
@login_required
def rename_passkey(passkey_id: int) -> Page:
    form = RenamePasskeyForm()
    if form.validate_on_submit():
        try:
            passkey = passkeys.rename_passkey(
                current_user.id, passkey_id, form.name.data or ""
            )
        except passkeys.PasskeyNotFound as error:
            flash(str(error), "info")
            return redirect(url_for("account.passkeys"))
        except passkeys.InvalidPasskeyName as error:
            add_error(form.name, str(error))
        else:
            flash(_("Passkey renamed “%(name)s”.", name=passkey.name), "success")
            return redirect(url_for("account.passkeys"))
    return render_passkeys(renamed=(passkey_id, form)), form_status(form)


@bp.route("/passkeys/<int:passkey_id>/remove", methods=["GET", "POST"])
@login_required
def remove_passkey(passkey_id: int) -> Page:
    try:
        passkey = passkeys.get_passkey(current_user.id, passkey_id)
    except passkeys.PasskeyNotFound as error:
        flash(str(error), "info")
        return redirect(url_for("account.passkeys"))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            passkeys.remove_passkey(current_user.id, passkey_id, client_info())
        except passkeys.PasskeyError as error:
            flash(str(error), "info")
        else:
            flash(
                _(
                    "Passkey “%(name)s” removed: it no longer signs in to this "
                    "account. You can also delete it from your device.",
                    name=passkey.name,
                ),
                "success",
            )
        return redirect(url_for("account.passkeys"))
    return render_template(
        "account/passkey_remove.html", form=form, passkey=passkey
    ), 200 if request.method == "GET" else form_status(form)
