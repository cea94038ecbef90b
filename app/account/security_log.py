"""The member's security log: what happened to the account, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flask import current_app, render_template, request
from flask_login import current_user

from app.account.blueprint import bp
from app.services import security_log
from app.services.browsers import describe_browser
from app.web.sign_in_cookie import login_required


class EventEntry(NamedTuple):
    """A security event as the log page shows it."""

    description: str
    created_at: datetime
    ip: str
    browser: str


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
