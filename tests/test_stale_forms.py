"""Forms that come back rather than fail: stale pages, and hidden fields.

A sign-in or sign-out replaces the browser's CSRF secret, so the forms open in its
other tabs carry tokens of a secret it no longer has. Such a form comes back with
what was typed and why, and changes nothing; a forged one still gets 400. A hidden
field never fails a form without the page saying why.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from time_machine import TimeMachineFixture
from werkzeug.test import TestResponse
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from app.models import User
from app.web.forms import Form
from tests.conftest import csrf_from, sign_in, snapshot
from tests.factories import PASSWORD

STALE = "You signed in or out in another tab. Check the form and submit it again."
NEW_PASSWORD = "lantern orchard quietly sixteen"


SIGN_UP = {
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "password": NEW_PASSWORD,
    "confirm": NEW_PASSWORD,
}


def token_of(client: FlaskClient, page: str) -> str:
    """Open a page in a tab and keep its form's token, as the tab does."""
    return csrf_from(client.get(page))


def sign_out(client: FlaskClient) -> None:
    """Sign out with the button of a freshly opened page (the other tab)."""
    response = client.post("/auth/logout", data={"csrf_token": token_of(client, "/")})
    assert response.status_code == 302


def signed_in_as(client: FlaskClient) -> str | None:
    """The name the site greets this browser with, or None when signed out."""
    response = client.get("/account/profile")
    if response.status_code != 200:
        return None
    page = response.get_data(as_text=True)
    start = page.index('class="who">') + len('class="who">')
    return page[start : page.index("<", start)]


def assert_comes_back(
    response: TestResponse, kept: dict[str, str], secrets: list[str]
) -> str:
    """The form is shown again with what was typed, minus secrets, and why."""
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert STALE in body
    assert "Bad request" not in body
    for name, value in kept.items():
        assert f'name="{name}"' in body
        assert value in body, f"{name} was not kept"
    for secret in secrets:
        assert secret not in body
    return body


# --- a sign-in or sign-out in another tab ----------------------------------------


def test_register_form_made_stale_by_another_tab_comes_back_with_what_was_typed(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    token = token_of(client, "/auth/register")
    sign_in(client, user.email)  # the other tab, which then signs out again
    sign_out(client)
    before = snapshot(app)

    response = client.post(
        "/auth/register",
        data={**SIGN_UP, "csrf_token": token},
    )

    assert_comes_back(
        response,
        {"name": "Grace Hopper", "email": "grace@example.com"},
        [NEW_PASSWORD],
    )
    assert snapshot(app) == before
    again = client.post(
        "/auth/register",
        data={**SIGN_UP, "csrf_token": csrf_from(response)},
    )
    assert again.status_code == 302


def test_sign_up_from_a_tab_opened_before_a_sign_in_leads_home_and_changes_nothing(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    token = token_of(client, "/auth/register")
    sign_in(client, user.email)  # in the other tab
    before = snapshot(app)

    response = client.post(
        "/auth/register",
        data={**SIGN_UP, "csrf_token": token},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert snapshot(app) == before
    assert signed_in_as(client) == user.name


def test_sign_in_form_made_stale_by_signing_in_and_out_elsewhere_comes_back(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    token = token_of(client, "/auth/login")
    sign_in(client, user.email)  # the other tab, which then signs out again
    sign_out(client)
    before = snapshot(app)

    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )

    assert_comes_back(response, {"email": user.email}, [PASSWORD])
    assert snapshot(app) == before
    assert signed_in_as(client) is None
    again = client.post(
        "/auth/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf_from(response),
        },
    )
    assert again.status_code == 302
    assert signed_in_as(client) == user.name


def test_second_sign_in_from_a_stale_tab_keeps_whoever_signed_in_first(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    first = make_user(name="First Tab")
    second = make_user(name="Second Tab")
    token = token_of(client, "/auth/login")
    sign_in(client, first.email)
    before = snapshot(app)

    response = client.post(
        "/auth/login",
        data={"email": second.email, "password": PASSWORD, "csrf_token": token},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert snapshot(app) == before
    assert signed_in_as(client) == "First Tab"


def test_profile_form_made_stale_by_signing_out_and_in_comes_back_unsaved(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    token = token_of(client, "/account/profile")
    sign_out(client)
    sign_in(client, signed_in.email)
    before = snapshot(app)
    typed = {"name": "Renamed In A Stale Tab", "bio": "typed before the sign-in"}

    response = client.post("/account/profile", data={**typed, "csrf_token": token})

    assert_comes_back(response, typed, [])
    assert snapshot(app) == before
    again = client.post(
        "/account/profile", data={**typed, "csrf_token": csrf_from(response)}
    )
    assert again.status_code == 302
    assert signed_in_as(client) == "Renamed In A Stale Tab"


def test_password_form_made_stale_comes_back_and_keeps_the_password(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    token = token_of(client, "/account/password")
    sign_out(client)
    sign_in(client, signed_in.email)
    before = snapshot(app)

    response = client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": token,
        },
    )

    assert_comes_back(response, {}, [PASSWORD, NEW_PASSWORD])
    assert snapshot(app) == before
    assert sign_in(app.test_client(), signed_in.email).status_code == 302


def test_a_stale_page_that_also_expired_comes_back_too(
    app: Flask, client: FlaskClient, signed_in: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(datetime.now(UTC))
    token = token_of(client, "/account/profile")
    time_machine.shift(timedelta(hours=5))
    sign_out(client)
    sign_in(client, signed_in.email)
    before = snapshot(app)

    response = client.post(
        "/account/profile", data={"name": "Left Open", "csrf_token": token}
    )

    assert_comes_back(response, {"name": "Left Open"}, [])
    assert snapshot(app) == before


# --- signing out from a stale tab -------------------------------------------------


@pytest.mark.parametrize(
    "meanwhile",
    ["nothing", "a page with a form"],
    ids=["no CSRF secret yet", "a new CSRF secret"],
)
def test_second_sign_out_from_a_stale_tab_shows_you_signed_out(
    client: FlaskClient, signed_in: User, meanwhile: str
) -> None:
    token = token_of(client, "/")  # this tab's sign-out button
    sign_out(client)  # the other tab's
    if meanwhile == "a page with a form":
        client.get("/auth/login")

    response = client.post("/auth/logout", data={"csrf_token": token})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "You are signed out." in client.get("/").get_data(as_text=True)
    assert signed_in_as(client) is None


def test_stale_sign_out_after_signing_in_again_asks_before_signing_out(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    token = token_of(client, "/")
    sign_out(client)
    sign_in(client, signed_in.email)

    response = client.post("/auth/logout", data={"csrf_token": token})

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<title>Sign out · Vestibule</title>" in body
    assert "Do you want to sign out now?" in body
    assert signed_in_as(client) == signed_in.name
    confirmed = client.post("/auth/logout", data={"csrf_token": csrf_from(response)})
    assert confirmed.status_code == 302
    assert signed_in_as(client) is None


# --- what is still refused ---------------------------------------------------------


def stale_profile_post(
    client: FlaskClient, user: User, headers: dict[str, str] | None = None
) -> tuple[str, Callable[..., TestResponse]]:
    """A profile token made stale by signing out and in; and a poster for it."""
    token = token_of(client, "/account/profile")
    sign_out(client)
    sign_in(client, user.email)

    def post(path: str = "/account/profile", **data: Any) -> TestResponse:
        return client.post(
            path,
            data={"name": "Mallory", **data, "csrf_token": token},
            headers=headers or {},
        )

    return token, post


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://evil.example", "null"]
)
@pytest.mark.parametrize("path", ["/account/profile", "/auth/logout"])
def test_cross_site_post_with_a_stale_token_is_refused(
    app: Flask, client: FlaskClient, signed_in: User, origin: str, path: str
) -> None:
    _, post = stale_profile_post(client, signed_in, {"Origin": origin})
    before = snapshot(app)

    response = post(path)

    assert response.status_code == 400
    assert "Bad request" in response.get_data(as_text=True)
    assert snapshot(app) == before
    assert signed_in_as(client) == signed_in.name


def test_stale_post_naming_this_site_as_its_origin_comes_back(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    _, post = stale_profile_post(client, signed_in, {"Origin": "http://localhost"})

    assert_comes_back(post(), {"name": "Mallory"}, [])


def test_an_earlier_token_of_another_browser_is_refused(
    app: Flask, client: FlaskClient, signed_in: User, make_user: Callable[..., User]
) -> None:
    attacker = app.test_client()
    attackers_token = token_of(attacker, "/auth/login")
    sign_in(attacker, make_user().email)  # now an earlier token of *their* browser
    client.get("/")
    before = snapshot(app)

    for path in ["/auth/logout", "/account/profile"]:
        response = client.post(
            path, data={"name": "Mallory", "csrf_token": attackers_token}
        )
        assert response.status_code == 400, path

    assert snapshot(app) == before
    assert signed_in_as(client) == signed_in.name


def test_a_stale_token_with_a_forged_signature_is_refused(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    token, _ = stale_profile_post(client, signed_in)
    payload, _, signature = token.rpartition(".")
    forged = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"

    for path in ["/auth/logout", "/account/profile"]:
        response = client.post(path, data={"name": "Mallory", "csrf_token": forged})
        assert response.status_code == 400, path

    assert signed_in_as(client) == signed_in.name


def test_pages_that_keep_no_secret_set_no_state_cookie(
    app: Flask, client: FlaskClient
) -> None:
    # Remembering earlier secrets must not give every visitor a cookie.
    response = client.get("/")

    assert not any(
        header.startswith(app.config["SESSION_COOKIE_NAME"] + "=")
        for header in response.headers.getlist("Set-Cookie")
    )


# --- hidden fields: `next` on the sign-in form -------------------------------------

BAD_NEXT = [
    "/account/profile\x00",
    "/account/profile\n",
    "/account/profile\x7f",
    "/account/profile\x85",
    "//evil.com",
    "https://evil.com",
    "/\\evil.com",
    "/" + "a" * 5000,
]
BAD_NEXT_IDS = ["nul", "newline", "del", "c1", "//", "https", "backslash", "long"]


def login_page_next(page: TestResponse) -> str:
    """The value the sign-in page's hidden `next` field carries."""
    field = re.search(r'<input[^>]*name="next"[^>]*>', page.get_data(as_text=True))
    assert field is not None, "the sign-in page has no next field"
    value = re.search(r'value="([^"]*)"', field.group(0))
    return html.unescape(value.group(1)) if value else ""


@pytest.mark.parametrize("target", BAD_NEXT, ids=BAD_NEXT_IDS)
def test_bad_next_in_the_address_is_dropped_and_sign_in_succeeds(
    client: FlaskClient, make_user: Callable[..., User], target: str
) -> None:
    user = make_user()
    page = client.get("/auth/login", query_string={"next": target})

    response = client.post(
        "/auth/login",
        query_string={"next": target},
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": login_page_next(page),
            "csrf_token": csrf_from(page),
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in_as(client) == user.name


@pytest.mark.parametrize("target", BAD_NEXT, ids=BAD_NEXT_IDS)
def test_bad_next_in_the_form_is_dropped_and_sign_in_succeeds(
    client: FlaskClient, make_user: Callable[..., User], target: str
) -> None:
    user = make_user()
    token = token_of(client, "/auth/login")

    response = client.post(
        "/auth/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": target,
            "csrf_token": token,
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in_as(client) == user.name


@pytest.mark.parametrize("target", BAD_NEXT, ids=BAD_NEXT_IDS)
def test_bad_next_while_signed_in_goes_home(
    client: FlaskClient, signed_in: User, target: str
) -> None:
    response = client.get("/auth/login", query_string={"next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("where", ["address", "form"])
def test_next_on_this_site_is_still_followed(
    client: FlaskClient, make_user: Callable[..., User], where: str
) -> None:
    user = make_user()
    query = {"next": "/account/profile"} if where == "address" else {}
    page = client.get("/auth/login", query_string=query)
    assert login_page_next(page) == ("/account/profile" if query else "")

    response = client.post(
        "/auth/login",
        query_string=query,
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": login_page_next(page) or "/account/profile",
            "csrf_token": csrf_from(page),
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/profile"


class HiddenRuleForm(Form):
    name = StringField()
    step = HiddenField()

    def validate_step(self, field: HiddenField) -> None:
        if field.data != "1":
            raise ValidationError("Unknown step.")


@pytest.mark.parametrize("step", ["2", "1\x01"], ids=["refused", "control character"])
def test_a_hidden_fields_refusal_is_shown_at_the_top_of_the_form(
    app: Flask, step: str
) -> None:
    with app.test_request_context(
        "/auth/register", method="POST", data={"name": "Ada", "step": step}
    ):
        form = HiddenRuleForm()

        assert not form.validate()
        assert form.step.errors == []  # the page has no place to show them
        assert form.form_errors == [
            "Part of this form could not be read. Please submit it again."
        ]
