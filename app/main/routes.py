"""The landing page and the probes load balancers ask."""

from __future__ import annotations

from flask import Response, current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.main.blueprint import bp
from app.services import accounts, mailer
from app.services.browsers import describe_browser
from app.web.sign_in_cookie import current_session


@bp.route("/")
def index() -> str:
    if not current_user.is_authenticated:
        return render_template("main/index.html")
    summary = accounts.account_summary(current_user, current_session())
    previous = summary.previous_sign_in
    return render_template(
        "main/home.html",
        summary=summary,
        previous_browser=describe_browser(previous.user_agent) if previous else None,
    )


@bp.route("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz() -> tuple[Response, int]:
    """Say whether this server can do its work, check by check, as JSON.

    200 {"status": "ok", "failed": [], "checks": {"database": "ok", "mail": "ok"}};
    503 with "status": "unavailable", the failed checks' names in "failed", and
    what each found: the database unreachable, or mail that cannot leave.
    """
    checks = {"database": _database_check(), "mail": mailer.mail_problem() or "ok"}
    failed = [name for name, found in checks.items() if found != "ok"]
    status = "unavailable" if failed else "ok"
    return jsonify(status=status, failed=failed, checks=checks), 503 if failed else 200


def _database_check() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("readiness check: database unreachable")
        return "unreachable"
    return "ok"
