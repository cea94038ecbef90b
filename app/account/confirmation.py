"""What the account's views share to confirm who asks: the password and code fields.

The settings that matter (password, address, two-factor, deleting the account) ask
for the password, and with two-factor on for a code, unless the session confirmed
itself a few minutes ago (app/services/reauthentication.py). Here are the one limit
on wrong answers they share, leaving the fields out while the window is open, reading
what was typed, and saying why a code was refused.
"""

from __future__ import annotations

from typing import TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug import Response

from app.account.blueprint import bp
from app.dates import describe_duration
from app.extensions import limiter
from app.models.base import utcnow
from app.services import reauthentication, two_factor
from app.web.forms import Form, add_error
from app.web.ratelimits import (
    count_wrong_answer,
    setting,
    user_key,
    wrong_answer,
)
from app.web.sign_in_cookie import current_session

# The forms that check the current password share one count per member, so that a
# stolen session gets ACCOUNT_LIMIT guesses in all, not that many per form. Only
# wrong answers count: the owner, who knows the password, is never the one refused.
# A session within its reauthentication window is checked for nothing, so guesses
# in another session (a thief's) do not refuse it.
PASSWORD_CHECKS = limiter.shared_limit(
    setting("ACCOUNT_LIMIT"),
    scope="account-password-checks",
    key_func=user_key,
    methods=["POST"],
    deduct_when=wrong_answer,
    exempt_when=lambda: reauthentication.window_open(current_session()),
)

# What a view answers: a page (200), a page with its status, or a redirect.
Page = str | Response | tuple[str, int]
AnyForm = TypeVar("AnyForm", bound=Form)

WRONG_CODE = _l(
    "That is not the code. Check that your app shows the code for Vestibule and "
    "your phone's clock is right."
)
WRONG_CODE_OR_RECOVERY_CODE = _l(
    "That is not the code. Check that your app shows the code for Vestibule and "
    "your phone's clock is right. Or enter a recovery code."
)
REUSED_CODE = _l("That code was used already. Wait for your app to show the next one.")


def confirmation_asked(form: AnyForm, *fields: str) -> AnyForm:
    """Leave out the fields that confirm who asks while the session's window is open.

    `fields` name them (the password and both code fields by default). Once the session
    confirmed its password on a settings form, settings ask for nothing more for a
    few minutes (app/services/reauthentication.py).
    """
    if reauthentication.window_open(current_session()):
        for name in fields or ("password", "code", "recovery_code"):
            if name in form:
                del form[name]
    return form


def typed(form: Form, name: str) -> str:
    """Return what was typed in the field `name`, or "" where it was not asked for."""
    return str(form[name].data or "") if name in form else ""


def refuse_password(form: Form) -> None:
    """Say that the typed password is wrong; it counts as a guess."""
    count_wrong_answer()
    add_error(form["password"], _("That is not your password."))


def refuse_code(form: Form, error: two_factor.WrongCode) -> None:
    """Say why a code was refused; a wrong one counts as a guess, a reused one not
    (it was right once: the owner typing the code they just signed in with)."""
    if not isinstance(error, two_factor.ReusedCode):
        count_wrong_answer()
    add_error(form["code"], why_refused(error))


def why_refused(error: two_factor.WrongCode) -> str:
    """Say why a code (the app's, or a recovery code) was refused."""
    if isinstance(error, two_factor.ReusedCode):
        return str(REUSED_CODE)
    return str(WRONG_CODE_OR_RECOVERY_CODE)


@bp.context_processor
def reauthentication_window() -> dict[str, str | None]:
    # The settings forms say when they ask for the password again ("4 minutes").
    ends = reauthentication.window_ends(current_session())
    return {
        "asks_again": None
        if ends is None
        else describe_duration((ends - utcnow()).total_seconds())
    }
