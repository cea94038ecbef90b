"""The member's sessions: every signed-in browser, and ending one or all others."""

from __future__ import annotations

from typing import NamedTuple

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug import Response

from app.account.blueprint import bp
from app.models import UserSession
from app.services import sessions
from app.services.browsers import describe_browser
from app.web.forms import ConfirmForm
from app.web.security import client_info
from app.web.sign_in_cookie import current_session, login_required, sign_out


class SessionEntry(NamedTuple):
    """A session as the sessions page lists it."""

    session: UserSession
    browser: str
    current: bool


OUT_OF_DATE = _l("That page was out of date; here is the list as it is now.")


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
        flash(str(OUT_OF_DATE), "info")
        return redirect(url_for("account.sessions_page"))
    current = current_session()
    if current is not None and current.id == session_id:
        sign_out(client_info())
        flash(_("You signed out of this browser."), "success")
        return redirect(url_for("auth.login"))
    try:
        sessions.revoke_session(current_user.id, session_id, client_info())
    except sessions.SessionNotFound:
        abort(404)
    flash(_("That session is ended: the browser is signed out."), "success")
    return redirect(url_for("account.sessions_page"))


@bp.post("/sessions/revoke-others")
@login_required
def revoke_other_sessions() -> Response:
    current = current_session()
    if current is not None and ConfirmForm().validate_on_submit():
        sessions.revoke_other_sessions(current, client_info())
        flash(_("Every other browser is signed out."), "success")
    else:
        flash(str(OUT_OF_DATE), "info")
    return redirect(url_for("account.sessions_page"))
