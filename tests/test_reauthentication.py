"""The reauthentication window: once a session confirmed its password on a settings
form, the settings ask for nothing more for a few minutes, in that session only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from time_machine import TimeMachineFixture

from app.extensions import db
from app.models import User
from tests.conftest import BrowserLikeClient, sign_in, submit
from tests.factories import PASSWORD
from tests.two_factor import code_for, second_step, turn_on

NEW_PASSWORD = "lantern orchard quietly sixteen"
CONFIRM_PAGES = ["/account/email", "/account/password", "/account/delete"]


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"REAUTHENTICATION_WINDOW": 300}


@pytest.fixture
def member(
    client: FlaskClient, signed_in: User, time_machine: TimeMachineFixture
) -> User:
    time_machine.move_to("2026-12-07 12:00:00+00:00", tick=False)
    return signed_in


def asks_for_password(client: FlaskClient, page: str) -> bool:
    html = client.get(page).get_data(as_text=True)
    return 'type="password"' in html and "current-password" in html


def confirm_by_email_change(client: FlaskClient, password: str = PASSWORD) -> int:
    data = {"email": "elsewhere@example.org", "password": password}
    return submit(client, "/account/email", data).status_code


def test_signing_in_alone_does_not_open_the_window(
    client: FlaskClient, member: User
) -> None:
    assert all(asks_for_password(client, page) for page in CONFIRM_PAGES)


def test_after_one_confirmation_the_settings_ask_for_no_password(
    client: FlaskClient, member: User
) -> None:
    assert confirm_by_email_change(client) == 302

    pages = {page: asks_for_password(client, page) for page in CONFIRM_PAGES}
    changed = submit(
        client,
        "/account/password",
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert pages == dict.fromkeys(CONFIRM_PAGES, False)
    assert "it is asked again in 5 minutes" in client.get("/account/email").get_data(
        as_text=True
    )
    assert changed.status_code == 302
    other = BrowserLikeClient(client.application)
    assert sign_in(other, member.email, NEW_PASSWORD).status_code == 302


def test_a_wrong_password_opens_no_window(client: FlaskClient, member: User) -> None:
    assert confirm_by_email_change(client, "not my password") == 422

    assert all(asks_for_password(client, page) for page in CONFIRM_PAGES)


def test_the_window_closes_after_five_minutes(
    client: FlaskClient, member: User, time_machine: TimeMachineFixture
) -> None:
    assert confirm_by_email_change(client) == 302
    time_machine.shift(timedelta(minutes=4, seconds=59))
    assert not asks_for_password(client, "/account/delete")

    time_machine.shift(timedelta(seconds=2))
    refused = submit(client, "/account/delete", {})

    assert asks_for_password(client, "/account/delete")
    assert refused.status_code == 422
    assert "Enter your password." in refused.get_data(as_text=True)


def test_the_window_is_the_sessions_own(
    app: Flask, client: FlaskClient, member: User
) -> None:
    other = BrowserLikeClient(app)
    assert sign_in(other, member.email).status_code == 302
    assert confirm_by_email_change(client) == 302

    assert all(asks_for_password(other, page) for page in CONFIRM_PAGES)
    # and a new sign-in in the same browser starts without one
    submit(client, "/", {}, action="/auth/logout")
    assert sign_in(client, member.email).status_code == 302
    assert all(asks_for_password(client, page) for page in CONFIRM_PAGES)


def test_within_the_window_two_factor_settings_ask_for_no_code(
    app: Flask,
    client: FlaskClient,
    member: User,
    time_machine: TimeMachineFixture,
) -> None:
    # Turning two-factor on confirms the password (the app's code is still asked:
    # it proves the app was set up); then turning it off asks for nothing more.
    secret, _ = turn_on(client)
    time_machine.shift(timedelta(minutes=1))
    page = client.get("/account/two-factor").get_data(as_text=True)

    turned_off = submit(
        client, "/account/two-factor", {}, action="/account/two-factor/disable"
    )

    assert 'name="code"' not in page and 'type="password"' not in page
    assert turned_off.status_code == 302
    with app.app_context():
        assert db.session.get_one(User, member.id).totp_secret is None
        db.session.remove()
    assert code_for(secret)  # the secret was real


def test_deleting_within_the_window_takes_one_press(
    app: Flask, client: FlaskClient, member: User, make_user: Callable[..., User]
) -> None:
    assert confirm_by_email_change(client) == 302

    deleted = submit(client, "/account/delete", {})

    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.get(User, member.id) is None
        db.session.remove()


@pytest.mark.parametrize("confirm_on", ["/account/email", "/account/password"])
def test_a_password_alone_opens_no_window_past_two_factor(
    app: Flask,
    member: User,
    time_machine: TimeMachineFixture,
    confirm_on: str,
) -> None:
    # With two-factor on, the e-mail and password forms take the password alone:
    # a thief holding the session and the password must not, through them, turn
    # two-factor off or delete the account without a code.
    first = BrowserLikeClient(app)
    assert sign_in(first, member.email).status_code == 302
    secret, _ = turn_on(first)
    time_machine.shift(timedelta(minutes=1))
    thief = BrowserLikeClient(app)
    assert sign_in(thief, member.email).status_code == 302
    assert second_step(thief, code_for(secret)).status_code == 302
    data = (
        {"email": "elsewhere@example.org", "password": PASSWORD}
        if confirm_on == "/account/email"
        else {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert submit(thief, confirm_on, data).status_code == 302

    page = thief.get("/account/two-factor").get_data(as_text=True)
    turned_off = submit(
        thief, "/account/two-factor", {}, action="/account/two-factor/disable"
    )
    deleted = submit(thief, "/account/delete", {})

    assert 'name="code"' in page
    assert turned_off.status_code == 422
    assert deleted.status_code == 422
    with app.app_context():
        assert db.session.get_one(User, member.id).totp_secret == secret
        db.session.remove()


def test_another_sessions_wrong_guesses_do_not_refuse_the_open_window(
    app: Flask, client: FlaskClient, member: User
) -> None:
    # Within the window nothing is checked, so nothing can be guessed: a thief's
    # ten wrong passwords in another browser must not stop the owner mid-sitting.
    assert confirm_by_email_change(client) == 302
    thief = BrowserLikeClient(app)
    assert sign_in(thief, member.email).status_code == 302
    for guess in range(10):
        wrong = {"email": "thief@example.org", "password": f"guess {guess}"}
        assert submit(thief, "/account/email", wrong).status_code == 422
    refused = submit(thief, "/account/email", {"email": "t@example.org"})

    changed = submit(
        client,
        "/account/password",
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert refused.status_code == 429
    assert changed.status_code == 302
