"""Every page, mail and label that names a length of time says its setting's.

The settings here are odd on purpose (no default is 5 hours): a text written by
hand ("The link works for 48 hours") would lie once an operator changes one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import OutboxMail, User
from tests.conftest import csrf_from, link_in, sign_in, submit
from tests.factories import PASSWORD
from tests.two_factor import code_for, turn_on

Outbox = Callable[[], list[OutboxMail]]
START = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
HOUR, DAY = 3600, 24 * 3600
STRONG = "correct horse battery staple"
WRONG = "not the password at all"
MOVED = "Your Vestibule account moved to another address"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "VERIFY_TOKEN_MAX_AGE": 5 * HOUR,
        "RESET_TOKEN_MAX_AGE": 2 * HOUR,
        "UNLOCK_TOKEN_MAX_AGE": 36 * HOUR,
        "EMAIL_CHANGE_TOKEN_MAX_AGE": 6 * HOUR,
        "EMAIL_UNDO_TOKEN_MAX_AGE": 3 * DAY,
        "REMEMBER_LIFETIME": timedelta(days=14),
        "TRUSTED_BROWSER_MAX_AGE": 9 * DAY,
        "TWO_FACTOR_STEP_MAX_AGE": 4 * 60,
        "LOCKOUT_FIRST_WAIT": timedelta(minutes=2),
        "LOCKOUT_LONGEST_WAIT": timedelta(minutes=45),
        "SEND_AGAIN_AFTER": 5 * 60,
    }


@pytest.fixture
def clock_start() -> datetime:
    """Where `clock` (tests/conftest.py) holds the time at first."""
    return START


def words(text: str) -> str:
    """The text with its line breaks and runs of spaces as single spaces."""
    return " ".join(text.split())


def page(client: FlaskClient, path: str) -> str:
    return words(client.get(path).get_data(as_text=True))


def mail_to(outbox: Outbox, recipient: str, subject: str) -> OutboxMail:
    found = [m for m in outbox() if m.recipient == recipient and m.subject == subject]
    assert found, f"no {subject!r} mail to {recipient}"
    return found[-1]


def test_the_sign_up_pages_and_mail_say_the_verify_links_lifetime(
    client: FlaskClient, outbox: Outbox, clock: Callable[[timedelta], None]
) -> None:
    data = {"name": "Ada", "email": "ada@example.com", "password": STRONG}
    assert submit(client, "/auth/register", {**data, "confirm": STRONG}).status_code
    inbox = page(client, "/auth/check-inbox")
    mail = mail_to(outbox, "ada@example.com", "Confirm your e-mail address")
    clock(timedelta(hours=5, minutes=1))

    expired = client.get(link_in(mail.body))

    assert "The link works for 5 hours." in inbox
    assert "You can send it again in 5 minutes." in inbox  # SEND_AGAIN_AFTER
    assert "The link works for 5 hours." in words(mail.body)
    assert expired.status_code == 400
    assert "Links are good for 5 hours." in words(expired.get_data(as_text=True))


def test_the_reset_pages_and_mail_say_the_reset_links_lifetime(
    client: FlaskClient,
    make_user: Callable[..., User],
    outbox: Outbox,
    clock: Callable[[timedelta], None],
) -> None:
    user = make_user()
    submit(client, "/auth/forgot", {"email": user.email})
    inbox = page(client, "/auth/check-inbox")
    mail = mail_to(outbox, user.email, "Reset your password")
    clock(timedelta(hours=2, minutes=1))

    expired = client.get(link_in(mail.body))

    assert "A reset link works for 2 hours." in inbox
    assert "open this link within 2 hours:" in words(mail.body)
    assert expired.status_code == 400
    assert "Links are good for 2 hours." in words(expired.get_data(as_text=True))


def test_the_lockout_mail_says_the_unlock_links_lifetime_and_the_waits(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    for n in range(app.config["LOCKOUT_THRESHOLD"]):  # each from another address
        browser = app.test_client()
        form = browser.get("/auth/login")
        failed = browser.post(
            "/auth/login",
            data={
                "email": user.email,
                "password": WRONG,
                "csrf_token": csrf_from(form),
            },
            environ_base={"REMOTE_ADDR": f"127.0.0.{n + 1}"},
        )
        assert failed.status_code == 401

    mail = mail_to(outbox, user.email, "Sign-in to your account is paused")

    body = words(mail.body)
    assert "(the link works once, for 36 hours)" in body
    assert "for 2 minutes at first" in body
    assert "up to 45 minutes at a time" in body


def test_the_address_change_mails_say_the_change_and_undo_links_lifetimes(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user, new = make_user(), "ada.new@example.com"
    assert sign_in(client, user.email).status_code == 302
    moving = {"email": new, "password": PASSWORD}
    assert submit(client, "/account/email", moving).status_code == 302
    confirm = mail_to(outbox, new, "Confirm your new e-mail address")
    assert submit(app.test_client(), link_in(confirm.body), {}).status_code == 302
    moved = mail_to(
        outbox, user.email, "Your Vestibule account moved to another address"
    )
    assert submit(app.test_client(), link_in(moved.body), {}).status_code == 302

    undone = mail_to(
        outbox, new, "Your Vestibule account moved back to its earlier address"
    )

    assert "The link works for 6 hours." in words(confirm.body)
    assert "open this link within 3 days and press" in words(moved.body)
    assert "undoes a change of address for 3 days." in words(undone.body)


def test_the_sign_in_forms_say_how_long_they_remember_and_wait(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    clock: Callable[[timedelta], None],
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302
    secret, _ = turn_on(client)
    clock(timedelta(minutes=1))
    browser = app.test_client()
    login = page(browser, "/auth/login")
    assert sign_in(browser, user.email).status_code == 302
    form = browser.get("/auth/two-factor")
    clock(timedelta(minutes=4, seconds=1))

    late = browser.post(
        "/auth/two-factor",
        data={"code": code_for(secret), "csrf_token": csrf_from(form)},
    )

    second_step = words(form.get_data(as_text=True))
    assert '<label for="remember">Remember me for 14 days</label>' in login
    assert '<label for="trust">Trust this browser for 9 days</label>' in second_step
    assert late.status_code == 302
    assert "it took longer than 4 minutes," in page(browser, "/auth/login")
