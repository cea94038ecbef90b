"""The member directory and member profiles, for signed-in users."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug import Response

from app.services import directory
from app.users.blueprint import bp
from app.web.sign_in_cookie import login_required


@bp.route("/")
@login_required
def index() -> str:
    # Next and Previous carry a cursor (`after`, `before`); `page` numbers, as old
    # links have them, reach as far as the count (DIRECTORY_COUNT_CAP).
    page = directory.list_members(
        request.args.get("q", ""),
        current_app.config["DIRECTORY_PAGE_SIZE"],
        current_app.config["DIRECTORY_COUNT_CAP"],
        page=request.args.get("page", 1, type=int) or 1,
        after=directory.Cursor.parse(request.args.get("after")),
        before=directory.Cursor.parse(request.args.get("before")),
    )
    return render_template("users/index.html", result=page)


@bp.route("/<int:member_id>")
@login_required
def profile(member_id: int) -> str:
    try:
        member = directory.get_member(member_id, current_user)
    except directory.MemberNotFound:
        abort(404)
    return render_template("users/profile.html", member=member)


@bp.route("/me")
@login_required
def me() -> Response:
    return redirect(url_for("users.profile", member_id=current_user.id))
