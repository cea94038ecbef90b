"""Routes that exist only under the testing config, to prove error handling."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("testing", __name__, url_prefix="/_testing")


@bp.route("/boom")
def boom() -> str:
    raise RuntimeError("a deliberate failure for the 500 page test")
