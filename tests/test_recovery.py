"""Recovering a lost password: /auth/forgot and the single-use link it mails."""

from __future__ import annotations

import html
import json
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import base64_decode, base64_encode
from time_machine import TimeMachineFixture
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import OutboxMail, User
from app.services.passwords import WeakPassword, check_password_strength
from tests.conftest import csrf_from, link_in, sign_in, submit
from tests.factories import PASSWORD

NEW_PASSWORD = "lantern orchard quietly sixteen"
WEAK_PASSWORD = "password123"

Outbox = Callable[[], list[OutboxMail]]


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user(name="Ada Lovelace", email="ada@example.com")


def request_reset(client: FlaskClient, email: str, outbox: Outbox) -> str:
    """Ask for a reset link and return its path, as the mail gives it."""
    response = submit(client, "/auth/forgot", {"email": email})
    assert response.status_code == 302
    mail = outbox()[-1]
    assert mail.recipient == email
    assert mail.subject == "Reset your password"
    return link_in(mail.body)


def choose_password(
    client: FlaskClient, path: str, password: str = NEW_PASSWORD
) -> TestResponse:
    """Post the new-password form of a reset link."""
    return submit(client, path, {"password": password, "confirm": password})


def test_forgot_answers_the_same_for_known_and_unknown_addresses(
    client: FlaskClient, user: User, outbox: Outbox
) -> None:
    known = submit(client, "/auth/forgot", {"email": user.email})
    unknown = submit(client, "/auth/forgot", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert (
        known.headers["Location"] == unknown.headers["Location"] == "/auth/check-inbox"
    )
    # both addresses get a mail: a link for the account, a note for the other
    known_mail, unknown_mail = outbox()
    assert (known_mail.recipient, unknown_mail.recipient) == (
        user.email,
        "nobody@example.com",
    )
    assert "/auth/reset/" in known_mail.body
    assert "/auth/reset/" not in unknown_mail.body


def test_forgot_does_the_same_work_for_known_and_unknown_addresses(
    client: FlaskClient, user: User, count_queries: Any
) -> None:
    statements = []
    for email in (user.email, "nobody@example.com"):
        page = client.get("/auth/forgot")
        with count_queries() as log:
            client.post(
                "/auth/forgot", data={"email": email, "csrf_token": csrf_from(page)}
            )
        statements.append([statement.split()[0] for statement in log.statements])

    assert statements[0] == statements[1]


def test_forgot_finds_the_account_whatever_the_case_of_the_address(
    client: FlaskClient, user: User, outbox: Outbox
) -> None:
    submit(client, "/auth/forgot", {"email": "ADA@Example.COM"})

    assert [mail.recipient for mail in outbox()] == [user.email]


def test_reset_link_sets_a_new_password(
    app: Flask, client: FlaskClient, user: User, outbox: Outbox
) -> None:
    path = request_reset(client, user.email, outbox)

    page = client.get(path)
    assert page.status_code == 200
    assert "Choose a new password" in page.get_data(as_text=True)
    response = choose_password(client, path)

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    assert sign_in(app.test_client(), user.email, PASSWORD).status_code == 401
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    notice = outbox()[-1]
    assert (notice.recipient, notice.subject) == (user.email, "Your password was reset")


def test_reset_signs_out_every_session_of_the_account(
    app: Flask, client: FlaskClient, user: User, outbox: Outbox
) -> None:
    elsewhere = app.test_client()
    assert sign_in(elsewhere, user.email).status_code == 302
    path = request_reset(client, user.email, outbox)

    assert choose_password(client, path).status_code == 302

    assert elsewhere.get("/account/profile").status_code == 302


def test_reset_link_works_only_once(
    client: FlaskClient, user: User, outbox: Outbox
) -> None:
    path = request_reset(client, user.email, outbox)
    token_page = client.get(path)
    assert choose_password(client, path).status_code == 302

    again = client.get(path)
    replayed = client.post(
        path,
        data={
            "password": "another fine sentence",
            "confirm": "another fine sentence",
            "csrf_token": csrf_from(token_page),
        },
    )

    assert again.status_code == 400
    body = again.get_data(as_text=True)
    assert "This link does not work" in body
    assert "used already" in body
    assert 'action="/auth/forgot"' in body
    assert "Send a new link" in body
    csrf_from(again)  # the "send a new link" form can be posted
    assert replayed.status_code == 400
    assert sign_in(client, user.email, NEW_PASSWORD).status_code == 302


def test_new_link_can_be_asked_for_from_the_failed_link_page(
    client: FlaskClient, user: User, outbox: Outbox
) -> None:
    path = request_reset(client, user.email, outbox)
    choose_password(client, path)

    response = submit(client, path, {"email": user.email}, action="/auth/forgot")

    assert response.status_code == 302
    fresh = link_in(outbox()[-1].body)
    assert fresh != path
    assert client.get(fresh).status_code == 200


def _tamper_signature(token: str) -> str:
    payload, timestamp, signature = token.rsplit(".", 2)
    first = "B" if signature[0] == "A" else "A"  # the first character holds 6 full bits
    return f"{payload}.{timestamp}.{first}{signature[1:]}"


def _point_at_another_account(token: str) -> str:
    payload, timestamp, signature = token.rsplit(".", 2)
    raw = base64_decode(payload.lstrip("."))
    # a leading "." marks a payload the serializer compressed
    data = json.loads(zlib.decompress(raw) if payload.startswith(".") else raw)
    data["uid"] += 1
    forged = base64_encode(json.dumps(data, separators=(",", ":"))).decode()
    return f"{forged}.{timestamp}.{signature}"


@pytest.mark.parametrize(
    "tamper",
    [_tamper_signature, _point_at_another_account],
    ids=["signature changed", "payload points at another account"],
)
def test_tampered_reset_link_fails(
    app: Flask,
    client: FlaskClient,
    user: User,
    make_user: Callable[..., User],
    outbox: Outbox,
    tamper: Callable[[str], str],
) -> None:
    victim = make_user(email="victim@example.com")
    path = request_reset(client, user.email, outbox)
    prefix, token = path.rsplit("/", 1)
    forged_path = f"{prefix}/{tamper(token)}"

    page = client.get(forged_path)
    response = client.post(
        forged_path,
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_from(page),
        },
    )

    assert page.status_code == 400
    assert "not valid" in page.get_data(as_text=True)
    assert response.status_code == 400
    for account in (user, victim):  # neither password changed
        assert sign_in(app.test_client(), account.email).status_code == 302


def test_reset_link_older_than_an_hour_has_expired(
    client: FlaskClient, user: User, outbox: Outbox, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(datetime.now(UTC))
    path = request_reset(client, user.email, outbox)

    time_machine.shift(timedelta(hours=1, seconds=2))
    response = client.get(path)

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "expired" in body
    assert 'action="/auth/forgot"' in body


def test_reset_link_still_works_just_before_the_hour(
    client: FlaskClient, user: User, outbox: Outbox, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(datetime.now(UTC))
    path = request_reset(client, user.email, outbox)

    time_machine.shift(timedelta(minutes=59))

    assert choose_password(client, path).status_code == 302


def test_reset_link_is_void_after_a_password_change(
    app: Flask, client: FlaskClient, user: User, outbox: Outbox
) -> None:
    path = request_reset(client, user.email, outbox)
    owner = app.test_client()
    sign_in(owner, user.email)
    changed = submit(
        owner,
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302

    response = client.get(path)

    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_asking_for_a_new_reset_link_voids_the_older_ones(
    app: Flask, client: FlaskClient, user: User, outbox: Outbox
) -> None:
    first = request_reset(client, user.email, outbox)

    second = request_reset(client, user.email, outbox)

    assert first != second
    assert client.get(first).status_code == 400
    assert choose_password(client, first).status_code == 400
    assert sign_in(app.test_client(), user.email, PASSWORD).status_code == 302
    assert choose_password(client, second).status_code == 302


def move_account(app: Flask, user: User, outbox: Outbox, to: str, at: str) -> None:
    """Move the account, signed in on a browser of its own, from `at` to `to`."""
    browser = app.test_client()
    assert sign_in(browser, at).status_code == 302
    data = {"email": to, "password": PASSWORD}
    assert submit(browser, "/account/email", data).status_code == 302
    change = [m for m in outbox() if m.recipient == to][-1]
    assert submit(browser, link_in(change.body), {}).status_code == 302


@pytest.mark.parametrize("moves", ["away", "away and back"])
def test_a_reset_link_dies_once_the_account_leaves_the_address_it_was_mailed_to(
    app: Flask, client: FlaskClient, user: User, outbox: Outbox, moves: str
) -> None:
    path = request_reset(client, user.email, outbox)

    move_account(app, user, outbox, to="ada.new@example.com", at=user.email)
    if moves == "away and back":
        move_account(app, user, outbox, to=user.email, at="ada.new@example.com")

    assert client.get(path).status_code == 400
    assert choose_password(client, path).status_code == 400
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 401


def test_weak_new_password_is_refused_with_a_reason_and_the_link_still_works(
    app: Flask, client: FlaskClient, user: User, outbox: Outbox
) -> None:
    path = request_reset(client, user.email, outbox)
    with app.app_context(), pytest.raises(WeakPassword) as refused:
        check_password_strength(WEAK_PASSWORD, email=user.email, name=user.name)

    response = choose_password(client, path, WEAK_PASSWORD)

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert html.escape(refused.value.reason) in body
    assert WEAK_PASSWORD not in body
    assert sign_in(app.test_client(), user.email, WEAK_PASSWORD).status_code == 401
    assert choose_password(client, path).status_code == 302
    assert sign_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302


def test_reset_link_of_a_deactivated_account_fails(
    app: Flask, client: FlaskClient, user: User, outbox: Outbox
) -> None:
    path = request_reset(client, user.email, outbox)
    with app.app_context():
        db.session.get_one(User, user.id).is_active = False
        db.session.commit()

    assert client.get(path).status_code == 400


def test_forgot_sends_no_link_for_a_deactivated_account(
    client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    inactive = make_user(is_active=False)

    response = submit(client, "/auth/forgot", {"email": inactive.email})

    assert response.headers["Location"] == "/auth/check-inbox"
    [mail] = outbox()
    assert "/auth/reset/" not in mail.body


def test_after_a_reset_the_sign_in_form_has_the_address_and_focuses_the_password(
    client: FlaskClient, user: User, outbox: Outbox
) -> None:
    path = request_reset(client, user.email, outbox)

    response = choose_password(client, path)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    again = client.get("/auth/login").get_data(as_text=True)

    assert re.search(r'<input[^>]*id="email"[^>]*value="ada@example.com"', page)
    assert re.search(r'<input[^>]*autofocus[^>]*id="password"', page)
    assert 'value="ada@example.com"' not in again  # filled in once
