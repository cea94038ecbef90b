"""The landing page and the probes load balancers ask."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.services import accounts
from app.services.browsers import describe_browser
from app.sign_in_cookie import current_session

bp = Blueprint("main", __name__)


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
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("readiness check: database unreachable")
        return jsonify(status="database unavailable"), 503
    return jsonify(status="ok"), 200
