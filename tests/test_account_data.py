"""A member's data: the download holds it all and no secret; deleting removes it all."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import String, Text, select

from app.extensions import db
from app.models import OutboxMail, RecoveryCode, User, UserSession
from tests import two_factor
from tests.authenticator import Authenticator
from tests.conftest import link_in, sign_in, snapshot, submit
from tests.factories import PASSWORD
from tests.passkeys import add_passkey, registration_options, second_step_options

Outbox = Callable[[], list[OutboxMail]]


def download(client: FlaskClient) -> tuple[dict[str, Any], str]:
    response = client.get("/account/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = response.get_data(as_text=True)
    return json.loads(text), text


def delete_account(client: FlaskClient, password: str = PASSWORD) -> Any:
    return submit(client, "/account/delete", {"password": password})


def rows_about(app: Flask, user_id: int, email: str) -> list[str]:
    """Every row of every table that names the member, by id or by address."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings():
                for column in table.columns:
                    value = row[column.name]
                    by_id = column.name in {"user_id"} or (
                        table.name == "users" and column.name == "id"
                    )
                    if (by_id and value == user_id) or (
                        isinstance(column.type, String | Text)
                        and isinstance(value, str)
                        and email in value
                    ):
                        found.append(f"{table.name}.{column.name}")
        db.session.remove()
    return found


def test_the_download_holds_the_members_profile_sessions_and_log(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user(name="Ada Lovelace", bio="Wrote the first program.")
    laptop, phone = app.test_client(), app.test_client()
    for client in (laptop, phone):
        assert sign_in(client, user.email).status_code == 302

    data, _ = download(laptop)

    assert data["profile"]["email"] == user.email
    assert data["profile"]["name"] == "Ada Lovelace"
    assert data["profile"]["bio"] == "Wrote the first program."
    assert data["settings"]["listed_in_directory"] is True
    assert len(data["sessions"]) == 2
    assert [event["kind"] for event in data["security_log"]] == ["sign_in", "sign_in"]


def test_the_download_holds_the_members_time_zone(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(time_zone="Europe/Berlin", time_zone_chosen=True)
    assert sign_in(client, user.email).status_code == 302

    data, _ = download(client)

    assert data["settings"]["time_zone"] == "Europe/Berlin"
    assert data["settings"]["time_zone_chosen"] is True


def test_the_download_holds_no_hash_token_or_secret(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    totp_secret, recovery_codes = two_factor.turn_on(client)
    with app.app_context():
        user = db.session.get_one(User, signed_in.id)
        secrets = [user.password_hash, user.totp_secret, *recovery_codes]
        secrets += db.session.scalars(
            select(UserSession.token_hash).where(UserSession.user_id == user.id)
        ).all()
        secrets += db.session.scalars(
            select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
        ).all()
        db.session.remove()
    cookie = client.get_cookie(app.config["SIGN_IN_COOKIE_NAME"])
    assert cookie is not None
    secrets.append(cookie.value)
    assert totp_secret in secrets and len(secrets) == 24

    data, text = download(client)

    assert data["settings"]["two_factor"] is True
    assert data["settings"]["recovery_codes_left"] == 10
    assert [secret for secret in secrets if secret in text] == []


def test_the_download_is_for_signed_in_members_only(client: FlaskClient) -> None:
    response = client.get("/account/export")

    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_a_wrong_password_deletes_nothing(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    before = snapshot(app)

    response = delete_account(client, "not my password")

    assert response.status_code == 422
    assert "That is not your password." in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_after_deleting_nothing_about_the_member_is_left_but_the_goodbye_mail(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user(name="Leaving Lou")
    viewer = make_user()
    here, elsewhere, watcher = (app.test_client() for _ in range(3))
    for client in (here, elsewhere):
        assert sign_in(client, user.email).status_code == 302
    assert sign_in(watcher, viewer.email).status_code == 302
    assert sign_in(app.test_client(), user.email, "a wrong one").status_code == 401
    assert submit(here, "/auth/forgot", {"email": user.email}).status_code == 302
    assert add_passkey(here, Authenticator()).status_code == 302  # passkeys are rows
    assert registration_options(here).status_code == 200  # so is a challenge waiting
    _, recovery_codes = two_factor.turn_on(here)  # recovery codes are rows too
    waiting = app.test_client()
    assert sign_in(waiting, user.email).status_code == 302
    second_step_options(waiting)  # a challenge of the account's second step

    response = submit(
        here,
        "/account/delete",
        {"password": PASSWORD, "code": recovery_codes[0]},
    )

    assert response.status_code == 302
    assert rows_about(app, user.id, user.email) == ["outbox_mails.recipient"]
    (goodbye,) = [mail for mail in outbox() if mail.recipient == user.email]
    assert goodbye.subject == "Your Vestibule account is deleted"
    assert here.get("/account/profile").status_code == 302  # signed out
    assert elsewhere.get("/account/profile").status_code == 302
    assert watcher.get(f"/users/{user.id}").status_code == 404
    assert sign_in(app.test_client(), user.email).status_code == 401


def test_the_address_can_sign_up_again_after_deleting(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302
    assert delete_account(client).status_code == 302

    again = app.test_client()
    new_password = "a brand new lantern orchard"
    form = {"name": "Back Again", "email": user.email, "password": new_password}
    form["confirm"] = new_password
    assert submit(again, "/auth/register", form).status_code == 302
    link = link_in(outbox()[-1].body)
    assert submit(again, link, {}).status_code == 302

    assert sign_in(app.test_client(), user.email, new_password).status_code == 302
