"""Messages that say what happened, and pages that say where a member stands."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.models import OutboxMail, User
from tests.conftest import csrf_from, link_in, sign_in, snapshot, submit
from tests.factories import PASSWORD
from tests.two_factor import turn_on

Outbox = Callable[[], list[OutboxMail]]
STRONG = "plum orbit cascade lantern"
START = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def text_of(client: FlaskClient, path: str) -> str:
    return client.get(path).get_data(as_text=True)


def sign_up(client: FlaskClient, email: str) -> Any:
    data = {"name": "Ada Lovelace", "email": email, "password": STRONG}
    data["confirm"] = STRONG
    return submit(client, "/auth/register", data)


# -- "check your inbox" -------------------------------------------------------------


def test_check_your_inbox_names_the_address_typed_and_leads_back_to_sign_up(
    client: FlaskClient,
) -> None:
    response = sign_up(client, " Ada.Lovelace@Example.COM ")

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        'We sent a message to <strong class="address">ada.lovelace@example.com</strong>'
        in page
    )
    assert 'href="/auth/register">Back to sign-up' in page


def test_check_your_inbox_reads_the_same_for_an_address_with_an_account(
    app: Flask, make_user: Callable[..., User], time_machine: Any
) -> None:
    # the clock held: the page says the wait before "send the link again"
    time_machine.move_to(START, tick=False)
    make_user(email="taken@example.com")
    pages = []
    for email in ("taken@example.com", "tfree@example.com"):
        browser = app.test_client()
        sign_up(browser, email)
        pages.append(text_of(browser, "/auth/check-inbox"))

    taken, free = (
        re.sub(r'value="[^"]+"|t\w+@example.com', "", page) for page in pages
    )
    assert taken == free  # but for the address typed, nothing tells them apart


def test_after_forgot_password_the_page_names_the_address_and_leads_to_sign_in(
    client: FlaskClient,
) -> None:
    submit(client, "/auth/forgot", {"email": "grace@example.com"})

    page = text_of(client, "/auth/check-inbox")

    assert '<strong class="address">grace@example.com</strong>' in page
    assert "A reset link works for 1 hour." in page
    assert "Back to sign in" in page and "Back to sign-up" not in page


# -- links opened again -----------------------------------------------------------


def test_an_expired_link_of_an_address_verified_since_says_it_is_verified(
    app: Flask, client: FlaskClient, outbox: Outbox, time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    sign_up(client, "ada@example.com")
    first = link_in(outbox()[-1].body)
    sign_up(client, "ada@example.com")  # a second link, confirmed in time
    assert submit(client, link_in(outbox()[-1].body), {}).status_code == 302
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/"))})
    time_machine.move_to(START + timedelta(days=3), tick=False)

    response = client.get(first)

    assert response.status_code == 302
    assert "already verified" in text_of(client, response.headers["Location"])


def test_a_verify_link_opened_again_while_signed_in_says_it_is_verified(
    client: FlaskClient, outbox: Outbox
) -> None:
    sign_up(client, "ada@example.com")
    link = link_in(outbox()[-1].body)
    assert submit(client, link, {}).status_code == 302

    response = client.get(link)

    page = text_of(client, response.headers["Location"])
    assert "Your e-mail address is already verified." in page
    assert "Please sign in" not in page


# -- the same password again ------------------------------------------------------


def test_setting_the_same_password_again_is_refused_with_a_reason(
    app: Flask, client: FlaskClient, signed_in: User, outbox: Outbox
) -> None:
    before = snapshot(app)

    response = submit(
        client,
        "/account/password",
        {"current": PASSWORD, "password": PASSWORD, "confirm": PASSWORD},
    )

    assert response.status_code == 422
    assert "That is your password already" in response.get_data(as_text=True)
    assert snapshot(app) == before  # no notice mail, no session ended


def test_a_reset_to_the_same_password_is_refused_with_a_reason(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    submit(client, "/auth/forgot", {"email": user.email})
    link = link_in(outbox()[-1].body)
    before = snapshot(app)

    response = submit(client, link, {"password": PASSWORD, "confirm": PASSWORD})

    assert response.status_code == 422
    assert "That is your password already" in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_the_reset_form_names_the_account_and_asks_for_a_new_password(
    client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user(email="grace@example.com")
    submit(client, "/auth/forgot", {"email": user.email})

    page = text_of(client, link_in(outbox()[-1].body))

    assert (
        'For the account of <strong class="address">grace@example.com</strong>' in page
    )
    assert "A new password signs out every other browser signed in to it." in page
    assert '<label for="password">New password</label>' in page
    assert '<label for="confirm">Confirm new password</label>' in page
    assert 'value="grace@example.com" autocomplete="username"' in page


# -- sessions ended by a new password ------------------------------------------------


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+">([^<]*)</p>', page)


def change_password(
    client: FlaskClient, current: str = PASSWORD, new: str = STRONG
) -> list[str]:
    """Change the password on the account page; return the messages shown after."""
    data = {"current": current, "password": new, "confirm": new}
    response = submit(client, "/account/password", data)
    assert response.status_code == 302
    return flashes(text_of(client, response.headers["Location"]))


def reset_password(
    client: FlaskClient, email: str, outbox: Outbox
) -> tuple[str, list[str]]:
    """Reset by the mailed link; return where it leads and the messages shown."""
    submit(client, "/auth/forgot", {"email": email})
    link = link_in(outbox()[-1].body)
    response = submit(client, link, {"password": STRONG, "confirm": STRONG})
    assert response.status_code == 302
    where = response.headers["Location"]
    return where, flashes(text_of(client, where))


def test_a_password_change_without_other_sessions_says_nothing_of_them(
    client: FlaskClient, signed_in: User
) -> None:
    assert change_password(client) == ["Password changed."]


def test_a_password_change_says_how_many_other_sessions_it_signed_out(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    for _ in range(2):
        assert sign_in(app.test_client(), signed_in.email).status_code == 302

    assert change_password(client) == [
        "Password changed. 2 other sessions were signed out."
    ]


def test_a_password_change_does_not_count_sessions_that_had_expired(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    time_machine: Any,
) -> None:
    user = make_user()
    time_machine.move_to(START, tick=False)
    assert sign_in(app.test_client(), user.email).status_code == 302  # idle for 13 h
    time_machine.move_to(START + timedelta(hours=13), tick=False)
    assert sign_in(app.test_client(), user.email).status_code == 302
    assert sign_in(client, user.email).status_code == 302

    assert change_password(client) == [
        "Password changed. 1 other session was signed out."
    ]


def test_the_notice_mail_tells_how_many_sessions_a_new_password_signed_out(
    app: Flask, client: FlaskClient, signed_in: User, outbox: Outbox
) -> None:
    change_password(client)  # no other session
    assert sign_in(app.test_client(), signed_in.email, STRONG).status_code == 302
    change_password(client, current=STRONG, new=PASSWORD)  # one other

    first, second = (mail.body for mail in outbox()[-2:])
    assert "was just changed.\n" in first
    assert "session" not in first
    assert "was just changed, and 1 session signed in to it was signed out." in (
        " ".join(second.split())
    )


def test_a_reset_says_the_password_is_set_and_how_to_sign_in(
    client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()

    where, messages = reset_password(client, user.email, outbox)

    assert where == "/auth/login"
    assert messages == ["Your new password is set. You can sign in with it now."]


def test_a_reset_says_how_many_sessions_it_signed_out(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(app.test_client(), user.email).status_code == 302

    where, messages = reset_password(client, user.email, outbox)

    assert where == "/auth/login"
    assert messages == [
        "Your new password is set. 1 session was signed out. "
        "You can sign in with it now."
    ]


def test_a_reset_from_a_signed_in_browser_counts_only_the_others(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302

    where, messages = reset_password(client, user.email, outbox)

    assert where == "/"
    assert messages == ["Your new password is set."]


def test_a_reset_of_another_account_says_whose_and_who_is_still_signed_in(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    member = make_user(name="Grace Hopper")
    other = make_user(email="ada@example.com")
    assert sign_in(app.test_client(), other.email).status_code == 302
    assert sign_in(client, member.email).status_code == 302

    where, messages = reset_password(client, other.email, outbox)

    assert where == "/"
    assert messages == [
        "The new password of ada@example.com is set. 1 session was signed out. "
        "You are still signed in as Grace Hopper."
    ]


# -- the home page -------------------------------------------------------------------


def test_home_tells_a_member_their_sessions_two_factor_and_previous_sign_in(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], time_machine: Any
) -> None:
    user = make_user(name="Grace Hopper", email="grace@example.com")
    time_machine.move_to(START, tick=False)
    laptop = app.test_client()
    laptop.environ_base.update(REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT=CHROME)
    assert sign_in(laptop, user.email).status_code == 302
    time_machine.move_to(START + timedelta(hours=2), tick=False)
    assert sign_in(client, user.email).status_code == 302

    page = text_of(client, "/")

    assert "Hello, Grace Hopper" in page and "grace@example.com" in page
    assert "Signed in on 2 browsers." in page
    assert "A password alone signs in." in page
    assert (
        'title="1 May 2030, 09:00 UTC">2 hours ago</time>, Chrome 131 on Linux, '
        "IP 198.51.100.7"
    ) in page


def test_home_shows_a_sign_in_made_since_in_another_browser(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], time_machine: Any
) -> None:
    user = make_user()
    time_machine.move_to(START, tick=False)
    assert sign_in(client, user.email).status_code == 302
    time_machine.move_to(START + timedelta(hours=2), tick=False)
    laptop = app.test_client()
    laptop.environ_base.update(REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT=CHROME)
    assert sign_in(laptop, user.email).status_code == 302
    time_machine.move_to(START + timedelta(hours=3), tick=False)

    page = text_of(client, "/")

    assert (
        'title="1 May 2030, 11:00 UTC">1 hour ago</time>, Chrome 131 on Linux, '
        "IP 198.51.100.7"
    ) in page


def test_home_says_two_factor_is_on_once_it_is(
    client: FlaskClient, signed_in: User
) -> None:
    turn_on(client)

    page = text_of(client, "/")

    assert "Signing in takes a code from your app." in page
    assert "This is your first sign-in." in page


def test_visitors_see_what_the_site_is_and_the_two_ways_in(
    client: FlaskClient,
) -> None:
    page = text_of(client, "/")

    assert "An account of your own, and a directory of the people here." in page
    assert 'class="button" href="/auth/register">Create an account' in page
    assert 'href="/auth/login">Sign in' in page


def test_sign_in_puts_the_focus_in_its_first_field(client: FlaskClient) -> None:
    page = text_of(client, "/auth/login")

    assert re.search(r'<input[^>]*autofocus[^>]*id="email"', page)


def test_a_search_that_finds_nobody_offers_every_member(
    client: FlaskClient, signed_in: User
) -> None:
    page = text_of(client, "/users/?q=nobody-is-called-this")

    assert "No member's name holds “nobody-is-called-this”." in page
    assert 'href="/users/">Show all members</a>' in page


# -- found in review ------------------------------------------------------------


def test_check_your_inbox_names_an_international_domain_as_it_was_typed(
    client: FlaskClient,
) -> None:
    # Once "a…@xn--bcher-kva.de", a spelling the person never typed.
    response = sign_up(client, "ada@bücher.de")

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'We sent a message to <strong class="address">ada@bücher.de</strong>' in (
        page
    )


# -- the way on from every page (issue 23) ------------------------------------------


def focused_fields(page: str) -> list[str]:
    """The names of the inputs that take the focus when the page opens."""
    return re.findall(r'<input[^>]*\sautofocus[^>]*\sname="([^"]+)"', page) + [
        name
        for name in re.findall(r'<input[^>]*\sname="([^"]+)"[^>]*\sautofocus', page)
    ]


def test_a_refused_sign_up_focuses_its_first_field_in_error(
    client: FlaskClient,
) -> None:
    data = {"name": "Ada Lovelace", "email": "ada@example.com"}
    common = {"password": "password123", "confirm": "password123"}
    weak = submit(client, "/auth/register", {**data, **common})
    no_name = submit(client, "/auth/register", {**data, "name": ""})

    assert weak.status_code == no_name.status_code == 422
    assert focused_fields(weak.get_data(as_text=True)) == ["password"]
    assert focused_fields(no_name.get_data(as_text=True)) == ["name"]


def test_a_wrong_password_focuses_the_password_not_the_address_typed(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()

    response = sign_in(client, user.email, "not the password at all")

    assert response.status_code == 401
    assert focused_fields(response.get_data(as_text=True)) == ["password"]


def test_a_refused_settings_form_focuses_its_field_in_error(
    client: FlaskClient, signed_in: User
) -> None:
    # Account pages focus nothing when they open, but the field to fix once refused.
    wrong = {"current": "not my password", "password": STRONG, "confirm": STRONG}
    response = submit(client, "/account/password", wrong)
    mismatch = submit(
        client,
        "/account/password",
        {"current": PASSWORD, "password": STRONG, "confirm": STRONG + "!"},
    )

    assert focused_fields(text_of(client, "/account/password")) == []
    assert focused_fields(response.get_data(as_text=True)) == ["current"]
    assert focused_fields(mismatch.get_data(as_text=True)) == ["confirm"]


def send_again(client: FlaskClient) -> Any:
    """Press "Send the link again" on "check your inbox"."""
    return submit(client, "/auth/check-inbox", {"email": hidden_address(client)})


def hidden_address(client: FlaskClient) -> str:
    page = text_of(client, "/auth/check-inbox")
    found = re.search(r'<input id="send-again-email"[^>]*value="([^"]*)"', page)
    assert found, "no send-again form"
    return found[1]


def test_check_your_inbox_sends_the_link_again_after_a_minute_said_in_words(
    app: Flask,
    make_user: Callable[..., User],
    outbox: Outbox,
    time_machine: Any,
) -> None:
    make_user(email="taken@example.com")
    time_machine.move_to(START, tick=False)
    pages, mails = [], []
    for email in ("taken@example.com", "tfree@example.com"):
        browser = app.test_client()
        sign_up(browser, email)
        first = text_of(browser, "/auth/check-inbox")
        assert "Nothing yet? You can send it again in 1 minute." in first
        too_soon = send_again(browser)
        assert too_soon.status_code == 429
        assert "The link was sent a moment ago." in too_soon.get_data(as_text=True)
        sent = len(outbox())
        time_machine.move_to(START + timedelta(seconds=61), tick=False)

        again = send_again(browser)

        assert again.headers["Location"] == "/auth/check-inbox"
        mails.append([m.recipient for m in outbox()[sent:]])
        pages.append(text_of(browser, "/auth/check-inbox"))
        time_machine.move_to(START, tick=False)
    assert mails == [["taken@example.com"], ["tfree@example.com"]]
    taken, free = (
        re.sub(r'value="[^"]+"|t\w+@example.com', "", page) for page in pages
    )
    assert taken == free  # the same answer for an address with an account


def test_sending_the_link_again_is_limited_per_address_as_other_links_are(
    client: FlaskClient, outbox: Outbox, time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    submit(client, "/auth/forgot", {"email": "grace@example.com"})
    statuses = []
    for minute in range(1, 5):
        time_machine.move_to(START + timedelta(minutes=minute), tick=False)
        statuses.append(send_again(client).status_code)

    assert statuses == [302, 302, 302, 429]
    assert len(outbox()) == 4  # one mail for the request, one for each send
