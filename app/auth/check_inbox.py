"""The "check your inbox" page, after any form that mails a link, and its resend."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug import Response

from app.auth.blueprint import Page, bp
from app.auth.forms import EmailForm
from app.dates import describe_duration
from app.extensions import limiter
from app.services import recovery, sign_up
from app.web.errors import too_many
from app.web.ratelimits import (
    ip_email_key,
    ip_key,
    led_to_check_inbox,
    setting,
)

# Reset and verify links asked for by one client, counted together whatever the
# addresses: MAIL_LINK_LIMIT counts per address, which +tags and other people's
# addresses would otherwise multiply into a flood of mail. Only requests that
# queued a mail count: junk posts (422, no mail) must not lock out everyone
# behind the client's address.
MAIL_LINKS_PER_IP = limiter.shared_limit(
    setting("MAIL_LINK_LIMIT_PER_IP"),
    scope="mail-links",
    key_func=ip_key,
    methods=["POST"],
    deduct_when=led_to_check_inbox,
)

# The state-cookie key of what "check your inbox" says: the address typed, what the
# visitor asked for (SIGN_UP, VERIFY_LINK, RESET_LINK, or ADDRESS_BACK: the reset link
# of an e-mail change undone or a sign-in reported) and when it was sent (Unix time).
INBOX_KEY = "inbox"
SIGN_UP, VERIFY_LINK, RESET_LINK = "sign_up", "verify_link", "reset_link"
ADDRESS_BACK = "address_back"
# What a refused request for a link says.
MANY_LINKS = _l("Many links were asked for from here: check your inbox for those sent.")


def to_check_inbox(email: str, *, after: str) -> Response:
    """Send the browser to "check your inbox" for the mail just queued to `email`.

    `after` says what was asked for: SIGN_UP, VERIFY_LINK, RESET_LINK or
    ADDRESS_BACK.
    """
    # The same answer whether or not the address has an account: every address
    # typed gets a mail (a link, or a note that there is nothing to link to).
    # As typed, in small letters: "bücher.de", not the stored "xn--bcher-kva.de".
    session[INBOX_KEY] = {
        "to": email.strip().lower(),
        "after": after,
        "at": int(time.time()),
    }
    return redirect(url_for("auth.check_inbox"))


def _inbox() -> dict[str, Any]:
    inbox = session.get(INBOX_KEY)
    return inbox if isinstance(inbox, dict) else {}


def inbox_page(form: EmailForm | None = None, refusal: str | None = None) -> str:
    """Render "check your inbox", with its resend form and `refusal` if refused."""
    inbox = _inbox()
    to, sent_at = inbox.get("to"), inbox.get("at")
    wait = 0
    if isinstance(sent_at, int):
        wait = max(0, _send_again_after() - (int(time.time()) - sent_at))
    if form is None and isinstance(to, str):
        form = EmailForm(email=to)
    return render_template(
        "auth/check_inbox.html",
        to=to,
        after=inbox.get("after"),
        form=form,
        wait=describe_duration(wait) if wait else None,
        refusal=refusal,
    )


def _send_again_after() -> int:
    seconds: int = current_app.config["SEND_AGAIN_AFTER"]
    return seconds


@bp.get("/check-inbox")
def check_inbox() -> str:
    return inbox_page()


@bp.post("/check-inbox")
@MAIL_LINKS_PER_IP
@limiter.limit(setting("MAIL_LINK_LIMIT"), key_func=ip_email_key)
def send_again() -> Page:
    """Send the link of "check your inbox" again, after a short wait."""
    form = EmailForm()
    after = _inbox().get("after")
    if not form.validate_on_submit() or not isinstance(after, str):
        return inbox_page(form), 422
    sent_at = _inbox().get("at")
    if isinstance(sent_at, int) and time.time() - sent_at < _send_again_after():
        # The page says how long is left: the wait in words.
        refusal = _("The link was sent a moment ago.")
        seconds = _send_again_after() - (time.time() - sent_at)
        return too_many(inbox_page(form, refusal), seconds)
    if after in (SIGN_UP, VERIFY_LINK):
        sign_up.resend_link(form.email.data or "")
    else:
        recovery.request_password_reset(form.email.data or "")
    return to_check_inbox(form.email.data or "", after=after)
