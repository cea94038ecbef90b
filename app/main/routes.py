"""The landing page and the probes load balancers ask."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
def index() -> str:
    return render_template("main/index.html")


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
