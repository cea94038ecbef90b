"""Sign-in alerts: a new browser and IP pair mails the owner a "this wasn't me" link."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMail, SecurityEvent, SecurityEventKind, User
from tests.authenticator import Authenticator
from tests.conftest import link_in, sign_in, submit
from tests.factories import PASSWORD
from tests.passkeys import add_passkey, sign_in_with_passkey

Outbox = Callable[[], list[OutboxMail]]
ALERT = "A new sign-in to your Vestibule account"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)


def browser(app: Flask, user_agent: str, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent)
    return client


def alerts(outbox: Outbox, email: str) -> list[OutboxMail]:
    return [m for m in outbox() if m.recipient == email and m.subject == ALERT]


def signed_in_by_owner_then_thief(
    app: Flask, user: User, outbox: Outbox
) -> tuple[FlaskClient, FlaskClient, str]:
    """The owner's browser, then a thief's from elsewhere; and the alert's link."""
    owner = browser(app, CHROME, "198.51.100.7")
    thief = browser(app, FIREFOX, "203.0.113.66")
    assert sign_in(owner, user.email).status_code == 302
    assert sign_in(thief, user.email).status_code == 302
    (alert,) = alerts(outbox, user.email)
    return owner, thief, link_in(alert.body)


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/account/profile").status_code == 200


def test_signing_in_again_from_the_same_browser_and_ip_sends_no_alert(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    laptop = browser(app, CHROME, "198.51.100.7")
    assert sign_in(laptop, user.email).status_code == 302  # the account's first
    assert sign_in(browser(app, CHROME, "198.51.100.7"), user.email).status_code == 302

    assert alerts(outbox, user.email) == []


def test_a_new_browser_or_a_new_ip_mails_the_owner_when_where_and_what(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(browser(app, CHROME, "198.51.100.7"), user.email).status_code == 302

    assert sign_in(browser(app, FIREFOX, "198.51.100.7"), user.email).status_code == 302
    assert sign_in(browser(app, CHROME, "203.0.113.66"), user.email).status_code == 302

    new_browser, new_ip = alerts(outbox, user.email)
    assert "Firefox 133 on Windows" in new_browser.body
    assert "198.51.100.7" in new_browser.body and " UTC" in new_browser.body
    assert "203.0.113.66" in new_ip.body and "Chrome 131 on Linux" in new_ip.body
    assert "/auth/not-me/" in new_ip.body


def test_the_first_sign_in_after_signing_up_sends_no_alert(
    app: Flask, outbox: Outbox
) -> None:
    newcomer = browser(app, CHROME, "198.51.100.7")
    password = "lantern orchard quietly sixteen"
    form = {"name": "New", "email": "new@example.com", "password": password}
    signed_up = submit(newcomer, "/auth/register", {**form, "confirm": password})
    assert signed_up.status_code == 302
    assert submit(newcomer, link_in(outbox()[-1].body), {}).status_code == 302

    again = browser(app, CHROME, "198.51.100.7")
    assert sign_in(again, "new@example.com", password).status_code == 302

    assert alerts(outbox, "new@example.com") == []


def test_this_wasnt_me_ends_every_session_and_mails_a_reset_link(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    owner, thief, link = signed_in_by_owner_then_thief(app, user, outbox)

    opened = owner.get(link)
    assert opened.status_code == 200
    assert is_signed_in(owner) and is_signed_in(thief)  # opening it changes nothing

    response = submit(owner, link, {})

    assert response.status_code == 302
    assert not is_signed_in(owner) and not is_signed_in(thief)
    assert outbox()[-1].subject == "Reset your password"
    assert outbox()[-1].recipient == user.email
    with app.app_context():
        kinds = db.session.scalars(
            select(SecurityEvent.kind).where(SecurityEvent.user_id == user.id)
        ).all()
        db.session.remove()
    assert kinds[-1] == SecurityEventKind.SIGN_IN_REPORTED
    # the password the thief used no longer works, and the link works once
    assert sign_in(browser(app, FIREFOX, "203.0.113.66"), user.email).status_code == 401
    assert owner.get(link).status_code == 400


def test_a_tampered_not_me_link_does_nothing(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    owner = browser(app, CHROME, "198.51.100.7")
    assert sign_in(owner, user.email).status_code == 302
    assert sign_in(browser(app, FIREFOX, "203.0.113.6"), user.email).status_code == 302
    link = link_in(alerts(outbox, user.email)[0].body)

    response = owner.get(link[:-3] + "abc")

    assert response.status_code == 400
    assert is_signed_in(owner)


def test_the_not_me_link_is_void_once_the_account_moved_to_another_address(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    owner, thief, link = signed_in_by_owner_then_thief(app, user, outbox)
    move = {"email": "thief@example.com", "password": PASSWORD}
    assert submit(thief, "/account/email", move).status_code == 302
    change = [m for m in outbox() if m.recipient == "thief@example.com"][-1]
    assert submit(thief, link_in(change.body), {}).status_code == 302

    response = owner.get(link)

    # the reset would go to the thief's address: the owner's way back is the
    # undo link mailed to their own address instead
    assert response.status_code == 400
    assert [m for m in outbox() if m.subject == "Reset your password"] == []


def test_the_not_me_link_is_void_once_the_account_moved_away_and_back(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    owner, thief, link = signed_in_by_owner_then_thief(app, user, outbox)
    for to in ("thief@example.com", user.email):  # away, then back
        move = {"email": to, "password": PASSWORD}
        assert submit(thief, "/account/email", move).status_code == 302
        change = [m for m in outbox() if m.recipient == to][-1]
        assert submit(thief, link_in(change.body), {}).status_code == 302

    response = owner.get(link)

    assert response.status_code == 400
    assert is_signed_in(thief)


def test_a_newer_alert_leaves_the_earlier_not_me_link_working(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    owner, thief, first = signed_in_by_owner_then_thief(app, user, outbox)
    # the thief signs in from yet another place: an alert nobody asked for must
    # not void the owner's way to end the first sign-in
    elsewhere = browser(app, FIREFOX, "192.0.2.200")
    assert sign_in(elsewhere, user.email).status_code == 302
    assert len(alerts(outbox, user.email)) == 2

    assert submit(owner, first, {}).status_code == 302

    assert not is_signed_in(thief) and not is_signed_in(elsewhere)


def test_the_same_browser_after_an_update_is_no_new_browser(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(browser(app, CHROME, "198.51.100.7"), user.email).status_code == 302
    updated = CHROME.replace("Chrome/131.0.0.0", "Chrome/132.0.6834.83")

    assert sign_in(browser(app, updated, "198.51.100.7"), user.email).status_code == 302

    assert alerts(outbox, user.email) == []


def test_after_this_wasnt_me_the_page_says_a_reset_link_is_on_its_way(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user(email="ada@example.com")
    owner, _, link = signed_in_by_owner_then_thief(app, user, outbox)

    response = submit(owner, link, {})

    assert response.headers["Location"] == "/auth/check-inbox"
    page = owner.get("/auth/check-inbox").get_data(as_text=True)
    assert (
        "A link to choose a new password is on its way to "
        '<strong class="address">ada@example.com</strong>'
    ) in page


def test_this_wasnt_me_removes_the_passkeys_added_since_that_sign_in(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    owner = browser(app, CHROME, "198.51.100.7")
    assert sign_in(owner, user.email).status_code == 302
    owners_key = Authenticator()
    assert add_passkey(owner, owners_key, name="Owner's phone").status_code == 302
    thief = browser(app, FIREFOX, "203.0.113.66")
    assert sign_in(thief, user.email).status_code == 302
    (alert,) = alerts(outbox, user.email)
    thiefs_key = Authenticator()
    assert add_passkey(thief, thiefs_key, name="Thief's key").status_code == 302

    assert submit(owner, link_in(alert.body), {}).status_code == 302

    thief = browser(app, FIREFOX, "203.0.113.66")
    assert sign_in_with_passkey(thief, thiefs_key).status_code == 401
    assert not is_signed_in(thief)
    owner = browser(app, CHROME, "198.51.100.7")
    assert sign_in_with_passkey(owner, owners_key).status_code == 302
    removed = [m for m in outbox() if "A passkey was removed" in m.subject]
    assert len(removed) == 1 and "Thief's key" in removed[0].body
