"""The admin area. Every view is for admins only: others get 403, visitors sign in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from werkzeug import Response

from app.admin.blueprint import bp
from app.admin.forms import LockoutForm, ThrottleForm
from app.extensions import login_manager
from app.models import User
from app.models.base import utcnow
from app.services import (
    admin,
    lockouts,
    passkeys,
    sign_up,
    throttles,
    undelivered_mail,
    user_list,
)
from app.services.security_log import ClientInfo
from app.web.forms import ConfirmForm
from app.web.security import client_info

OUT_OF_DATE = _l("That page was out of date; nothing changed. Here it is as it is now.")
CLEARED_IN_THIS_WORKER = _l(
    "That client may try again now in this worker; with limits kept in memory each "
    "worker counts its own, so another may refuse it until its count runs out."
)


@bp.before_request
def admins_only() -> Response | None:
    if not current_user.is_authenticated:
        response: Response = login_manager.unauthorized()
        return response
    if not current_user.is_admin:
        abort(403)
    return None


@bp.get("/")
def index() -> Response:
    return redirect(url_for("admin.users"))


def _list_args() -> dict[str, Any]:
    """The user list's query string, kept across an action on one of its rows."""
    return {
        key: value
        for key in ("q", "filter", "page")
        if (value := request.args.get(key, ""))
    }


@bp.get("/users")
def users() -> str:
    try:
        chosen = user_list.UserFilter(request.args.get("filter", "all"))
    except ValueError:
        chosen = user_list.UserFilter.ALL
    result = user_list.list_users(
        request.args.get("q", ""),
        chosen,
        request.args.get("page", 1, type=int) or 1,
        current_app.config["ADMIN_PAGE_SIZE"],
    )
    return render_template(
        "admin/users.html",
        result=result,
        filters=list(user_list.UserFilter),
        waiting_sign_ups=sign_up.waiting_sign_ups(),
        list_args=_list_args(),
    )


Action = Callable[[int, User | None, ClientInfo], User]


def _act(user_id: int, action: Action, done: LazyString) -> Response:
    # `done` names the member as %(name)s
    if ConfirmForm().validate_on_submit():
        try:
            user = action(user_id, current_user, client_info())
        except admin.UserNotFound:
            abort(404)
        except admin.AdminError as error:
            flash(str(error), "error")
        else:
            flash(done % {"name": user.name}, "success")
    else:  # a genuine token, but stale
        flash(str(OUT_OF_DATE), "info")
    return redirect(url_for("admin.users", **_list_args()))


# The actions that sign a member out or take rights away ask once: their button
# opens a page (GET) naming the member and what will happen; its form's POST acts.
# (endpoint, the page's heading, what will happen, the confirming button, done);
# %(name)s is the member's name.
CONFIRMED: dict[str, tuple[LazyString, LazyString, LazyString, LazyString]] = {
    "deactivate": (
        _l("Deactivate %(name)s?"),
        _l(
            "%(name)s is signed out of every browser at once and cannot sign in "
            "again until an admin activates the account. Nothing is deleted."
        ),
        _l("Deactivate"),
        _l("%(name)s is deactivated and signed out everywhere."),
    ),
    "revoke_admin": (
        _l("Revoke admin: %(name)s?"),
        _l(
            "%(name)s loses the admin area at once: the accounts, the lockouts and "
            "limits, and undelivered mail. Any admin can make them an admin again."
        ),
        _l("Revoke admin"),
        _l("%(name)s is no longer an admin."),
    ),
    "disable_two_factor": (
        _l("Turn off two-factor sign-in for %(name)s?"),
        _l(
            "Their authenticator app and recovery codes stop working, they are "
            "signed out everywhere, and their password stops working too: a link to "
            "set a new one is mailed to their address. Do this only once you know "
            "the person asking is the owner."
        ),
        _l("Turn off two-factor"),
        _l(
            "Two-factor sign-in is off for %(name)s, who is signed out everywhere; "
            "the password no longer works and a link to set a new one was mailed."
        ),
    ),
    "remove_passkeys": (
        _l("Remove the passkeys of %(name)s?"),
        _l(
            "Every passkey of the account stops signing in; %(name)s keeps their "
            "password and is mailed a notice. Do this for an owner who lost a "
            "device that holds one, once you know the person asking is the owner."
        ),
        _l("Remove the passkeys"),
        _l("The passkeys of %(name)s are removed; they were mailed a notice."),
    ),
}


def _applies(endpoint: str, user: User) -> bool:
    """Whether the confirmed action `endpoint` would change `user` at all."""
    if endpoint == "deactivate":
        return user.is_active
    if endpoint == "revoke_admin":
        return user.is_admin
    if endpoint == "remove_passkeys":
        return passkeys.count_passkeys(user.id) > 0
    return user.totp_secret is not None


def _ask_or_act(user_id: int, endpoint: str, action: Action) -> Response | str:
    """GET: the page that asks once; POST (from that page): act."""
    heading, consequence, button, done = CONFIRMED[endpoint]
    if request.method == "POST":
        return _act(user_id, action, done)
    try:
        user = admin.get_user(user_id)
    except admin.UserNotFound:
        abort(404)
    if user.id == current_user.id or not _applies(endpoint, user):
        flash(str(OUT_OF_DATE), "info")
        return redirect(url_for("admin.users", **_list_args()))
    return render_template(
        "admin/confirm.html",
        user=user,
        heading=heading % {"name": user.name},
        consequence=consequence % {"name": user.name},
        button=str(button),
        action=url_for(f"admin.{endpoint}", user_id=user.id, **_list_args()),
        back=url_for("admin.users", **_list_args()),
        form=ConfirmForm(),
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
def deactivate(user_id: int) -> Response | str:
    return _ask_or_act(user_id, "deactivate", admin.deactivate)


@bp.post("/users/<int:user_id>/activate")
def activate(user_id: int) -> Response:
    return _act(user_id, admin.activate, _l("%(name)s can sign in again."))


@bp.post("/users/<int:user_id>/make-admin")
def make_admin(user_id: int) -> Response:
    return _act(user_id, admin.make_admin, _l("%(name)s is an admin now."))


@bp.route("/users/<int:user_id>/revoke-admin", methods=["GET", "POST"])
def revoke_admin(user_id: int) -> Response | str:
    return _ask_or_act(user_id, "revoke_admin", admin.revoke_admin)


@bp.route("/users/<int:user_id>/disable-two-factor", methods=["GET", "POST"])
def disable_two_factor(user_id: int) -> Response | str:
    return _ask_or_act(user_id, "disable_two_factor", admin.disable_two_factor)


@bp.route("/users/<int:user_id>/remove-passkeys", methods=["GET", "POST"])
def remove_passkeys(user_id: int) -> Response | str:
    return _ask_or_act(user_id, "remove_passkeys", admin.remove_passkeys)


@bp.get("/abuse")
def abuse() -> str:
    return render_template(
        "admin/abuse.html",
        lockouts=lockouts.list_lockouts(),
        throttled=throttles.list_throttled(),
        per_worker=throttles.counts_kept_per_worker(),
        now=utcnow(),
    )


@bp.post("/abuse/clear-lockout")
def clear_lockout() -> Response:
    form = LockoutForm()
    if not form.validate_on_submit():
        flash(str(OUT_OF_DATE), "info")
    elif lockouts.clear_lockout(form.email.data or "", current_user, client_info()):
        flash(_("Sign-in for that address is unlocked."), "success")
    else:
        flash(_("That address was not locked (any more)."), "info")
    return redirect(url_for("admin.abuse"))


@bp.post("/abuse/clear-limit")
def clear_limit() -> Response:
    form = ThrottleForm()
    if not form.validate_on_submit():
        flash(str(OUT_OF_DATE), "info")
    elif throttles.clear_throttle(form.key.data or ""):
        flash(
            str(CLEARED_IN_THIS_WORKER)
            if throttles.counts_kept_per_worker()
            else _("That client may try again now."),
            "success",
        )
    else:
        flash(_("That client was not held back (any more)."), "info")
    return redirect(url_for("admin.abuse"))


@bp.get("/mail")
def mail() -> str:
    return render_template("admin/mail.html", mails=undelivered_mail.list_undelivered())


@bp.post("/mail/<int:mail_id>/requeue")
def requeue_mail(mail_id: int) -> Response:
    if not ConfirmForm().validate_on_submit():
        flash(str(OUT_OF_DATE), "info")
    elif undelivered_mail.requeue_mail(mail_id):
        flash(
            _("The mail is queued again and goes out at the next delivery."), "success"
        )
    else:
        flash(_("That mail is not undelivered (any more)."), "info")
    return redirect(url_for("admin.mail"))
