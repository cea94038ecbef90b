"""Passkeys: added in the settings, signing in alone or as the second step, removed."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMail, Passkey, SecurityEvent, User
from tests import two_factor
from tests.authenticator import Authenticator
from tests.conftest import csrf_from, sign_in
from tests.passkeys import (
    add_passkey,
    post_second_step,
    second_step_options,
    sign_in_with_passkey,
)


def passkeys_of(app: Flask, user: User) -> list[Passkey]:
    with app.app_context():
        rows = list(
            db.session.scalars(select(Passkey).where(Passkey.user_id == user.id))
        )
        db.session.expunge_all()
        return rows


def sign_out(client: FlaskClient) -> None:
    token = csrf_from(client.get("/auth/logout"))
    client.post("/auth/logout", data={"csrf_token": token})


def test_a_member_adds_a_passkey_and_the_page_lists_it(
    client: FlaskClient, signed_in: User, app: Flask
) -> None:
    response = add_passkey(client, Authenticator(), name="Work laptop")
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/account/passkeys").get_data(as_text=True)
    assert "Work laptop" in page
    assert "synced" in page
    [passkey] = passkeys_of(app, signed_in)
    assert passkey.name == "Work laptop"
    assert passkey.backup_eligible and passkey.backed_up
    assert passkey.transports == "internal,hybrid"
    assert passkey.aaguid == "00112233-4455-6677-8899-aabbccddeeff"


def test_a_passkey_signs_in_without_an_address_or_password(
    client: FlaskClient, signed_in: User
) -> None:
    authenticator = Authenticator()
    add_passkey(client, authenticator)
    sign_out(client)
    response = sign_in_with_passkey(client, authenticator)
    assert response.status_code == 302
    assert client.get("/account/profile").status_code == 200


def test_a_passkey_sign_in_asks_no_code_of_a_two_factor_account(
    client: FlaskClient, signed_in: User
) -> None:
    _, codes = two_factor.turn_on(client)
    authenticator = Authenticator()
    assert add_passkey(client, authenticator, code=codes[0]).status_code == 302
    sign_out(client)
    response = sign_in_with_passkey(client, authenticator)
    assert response.status_code == 302
    assert "/auth/two-factor" not in response.headers["Location"]
    assert client.get("/account/profile").status_code == 200


def test_a_passkey_is_the_second_step_after_a_password(
    client: FlaskClient, signed_in: User
) -> None:
    _, codes = two_factor.turn_on(client)
    authenticator = Authenticator()
    add_passkey(client, authenticator, code=codes[0])
    sign_out(client)
    response = sign_in(client, signed_in.email)
    assert response.headers["Location"].endswith("/auth/two-factor")
    page = client.get("/auth/two-factor").get_data(as_text=True)
    assert "Use a passkey" in page
    options = second_step_options(client)
    assert len(options["allowCredentials"]) == 1
    response = post_second_step(client, authenticator.get(options))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.get("/account/profile").status_code == 200


def test_the_second_step_offers_no_passkey_to_an_account_without_one(
    client: FlaskClient, signed_in: User
) -> None:
    two_factor.turn_on(client)
    sign_out(client)
    sign_in(client, signed_in.email)
    page = client.get("/auth/two-factor").get_data(as_text=True)
    assert "Use a passkey" not in page


def test_a_member_removes_a_passkey_after_confirming_and_it_signs_in_no_more(
    client: FlaskClient, signed_in: User, app: Flask
) -> None:
    authenticator = Authenticator()
    add_passkey(client, authenticator)
    [passkey] = passkeys_of(app, signed_in)
    page = client.get(f"/account/passkeys/{passkey.id}/remove")
    assert page.status_code == 200
    assert "My laptop" in page.get_data(as_text=True)
    assert passkeys_of(app, signed_in)  # asking removes nothing
    response = client.post(
        f"/account/passkeys/{passkey.id}/remove", data={"csrf_token": csrf_from(page)}
    )
    assert response.status_code == 302
    assert passkeys_of(app, signed_in) == []
    sign_out(client)
    response = sign_in_with_passkey(client, authenticator)
    assert response.status_code == 401
    assert client.get("/account/profile").status_code == 302


def test_a_member_renames_a_passkey(
    client: FlaskClient, signed_in: User, app: Flask
) -> None:
    add_passkey(client, Authenticator())
    [passkey] = passkeys_of(app, signed_in)
    token = csrf_from(client.get("/account/passkeys"))
    response = client.post(
        f"/account/passkeys/{passkey.id}/rename",
        data={"csrf_token": token, "name": "  Phone   in the drawer "},
    )
    assert response.status_code == 302
    assert passkeys_of(app, signed_in)[0].name == "Phone in the drawer"
    response = client.post(
        f"/account/passkeys/{passkey.id}/rename",
        data={"csrf_token": token, "name": "x" * 65},
    )
    assert response.status_code == 422
    assert passkeys_of(app, signed_in)[0].name == "Phone in the drawer"


def test_adding_a_passkey_asks_for_the_password_first(
    client: FlaskClient, signed_in: User, app: Flask
) -> None:
    from tests.passkeys import registration_options

    response = registration_options(client, password="not the password")
    assert response.status_code == 422
    assert response.get_json()["error"] == "That is not your password."
    assert passkeys_of(app, signed_in) == []


def test_adding_and_removing_are_logged_and_mailed(
    client: FlaskClient,
    signed_in: User,
    app: Flask,
    outbox: Callable[[], list[OutboxMail]],
) -> None:
    add_passkey(client, Authenticator(), name="Tablet")
    [passkey] = passkeys_of(app, signed_in)
    token = csrf_from(client.get(f"/account/passkeys/{passkey.id}/remove"))
    client.post(f"/account/passkeys/{passkey.id}/remove", data={"csrf_token": token})
    subjects = [mail.subject for mail in outbox()]
    assert "A passkey was added to your account" in subjects
    assert "A passkey was removed from your account" in subjects
    with app.app_context():
        kinds = list(
            db.session.scalars(
                select(SecurityEvent.kind).where(SecurityEvent.user_id == signed_in.id)
            )
        )
    assert "passkey_added" in kinds and "passkey_removed" in kinds


def test_each_rename_control_names_its_passkey_for_a_screen_reader(
    client: FlaskClient, signed_in: User
) -> None:
    for name in ("Work laptop", "Phone"):
        add_passkey(client, Authenticator(), name=name)

    page = client.get("/account/passkeys").get_data(as_text=True)

    summaries = re.findall(r"<summary>(.*?)</summary>", page, re.S)
    spoken = [re.sub(r"<[^>]+>", "", summary) for summary in summaries]
    assert spoken == ["Rename: Work laptop", "Rename: Phone"]
