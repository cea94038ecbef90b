"""The footer's language menu: a visitor's choice in a cookie, a member's stored."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug import Response

from app.main.blueprint import bp
from app.main.forms import LanguageForm
from app.services import languages
from app.web.language import offered_languages, page_language, remember_language
from app.web.security import safe_next


@bp.get("/language")
def language_page() -> str:
    """The menu on a page of its own, for a page that could not post it.

    A page without a form keeps no CSRF secret for a visitor who has none, so its
    footer menu asks for this page, whose form posts (`?language=de&next=/`);
    this page changes nothing.
    """
    asked = request.args.get("language")
    return render_template(
        "main/language.html",
        chosen=asked if asked in offered_languages() else page_language(),
        back=safe_next(request.args.get("next"), url_for("main.index")),
    )


@bp.post("/language")
def choose_language() -> Response:
    """Write pages in the language chosen, then go back to the page of the menu.

    The choice is remembered in a cookie and, for a signed-in member, stored as
    theirs. An unknown language is refused (400). A post whose CSRF token expired
    or was made before a sign-in or sign-out changes nothing: the page of the menu
    comes back and says why.
    """
    form = LanguageForm()
    back = safe_next(form.next.data, url_for("main.index"))
    valid = form.validate()
    if form.form_errors:  # the token expired, or is from before a sign-in or out
        for message in form.form_errors:
            flash(str(message), "error")
        return redirect(back)
    code = form.language.data or ""
    if not valid or code not in offered_languages():
        abort(400)
    if current_user.is_authenticated:
        languages.choose_language(current_user, code)
    response = make_response(redirect(back))
    remember_language(response, code)
    return response
