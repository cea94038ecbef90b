"""Routes the test suite adds to its apps: they exist only in tests."""

from __future__ import annotations

from flask import Blueprint

from app.extensions import limiter

bp = Blueprint("testing", __name__, url_prefix="/_testing")

# A limit declared on a page read with GET, as a future feed or export might be.
GET_LIMIT = "2 per minute"


@bp.route("/boom")
def boom() -> str:
    raise RuntimeError("a deliberate failure for the 500 page test")


@bp.route("/limited")
@limiter.limit(GET_LIMIT)
def limited() -> str:
    return "a page whose GETs are limited"
