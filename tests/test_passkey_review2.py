"""A second review of passkeys: how they meet the rest of the account.

The reauthentication window, sessions, two tabs at once, a race on one
credential, the admin list's cost. The tests of two tabs, of the race and of
the refusal's words failed before their fix; the others hold and guard it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, insert
from time_machine import TimeMachineFixture

from app.extensions import db
from app.models import Passkey, User
from app.models.base import utcnow
from tests.authenticator import Authenticator, unb64url
from tests.conftest import csrf_from, sign_in, submit
from tests.factories import PASSWORD
from tests.passkeys import (
    TWO_FACTOR_SECRET,
    Member,
    add_passkey,
    member_with_passkey,
    post_sign_in,
    registration_options,
    sign_in_options,
    sign_in_with_passkey,
    stored_passkeys,
    turn_on_two_factor,
)
from tests.two_factor import code_for, second_step

MakeUser = Callable[..., User]


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"REAUTHENTICATION_WINDOW": 300}


@pytest.fixture(autouse=True)
def _still_clock(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to("2026-12-07 12:00:00+00:00", tick=False)


def confirm_by_email_change(client: FlaskClient) -> None:
    """Confirm the password on the e-mail form (a password only, never a code)."""
    data = {"email": "elsewhere@example.org", "password": PASSWORD}
    assert submit(client, "/account/email", data).status_code == 302


def signed_in_on(client: FlaskClient) -> bool:
    return client.get("/account/profile").status_code == 200


def options_without_confirmation(client: FlaskClient) -> int:
    """Ask for a new passkey's options typing neither password nor code."""
    return registration_options(client, password=None).status_code


# -- the reauthentication window ------------------------------------------------------


def test_a_password_alone_does_not_let_a_two_factor_member_add_a_passkey_later(
    app: Flask, client: FlaskClient, make_user: MakeUser
) -> None:
    user = make_user()
    turn_on_two_factor(app, user)
    assert sign_in(client, user.email).status_code == 302
    assert second_step(client, code_for(TWO_FACTOR_SECRET)).status_code == 302
    confirm_by_email_change(client)  # the password, never a code

    assert options_without_confirmation(client) == 422
    assert registration_options(client).status_code == 422  # the code is missing


def test_a_window_opened_in_another_session_does_not_let_this_one_add_a_passkey(
    app: Flask, client: FlaskClient, make_user: MakeUser
) -> None:
    user = make_user()
    other = app.test_client()
    assert sign_in(client, user.email).status_code == 302
    assert sign_in(other, user.email).status_code == 302
    confirm_by_email_change(other)

    assert options_without_confirmation(client) == 422
    assert options_without_confirmation(other) == 200  # the window is other's own


def test_a_passkey_sign_in_opens_no_window(app: Flask, make_user: MakeUser) -> None:
    member = member_with_passkey(app, make_user)
    browser = app.test_client()

    assert sign_in_with_passkey(browser, member.authenticator).status_code == 302

    assert options_without_confirmation(browser) == 422
    page = browser.get("/account/email").get_data(as_text=True)
    assert "current-password" in page


def test_a_registration_challenge_does_not_outlive_its_session(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    options = registration_options(client).get_json()["options"]
    answer = Authenticator().create(options)
    state = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert state is not None
    token = csrf_from(client.get("/"))
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert sign_in(client, signed_in.email).status_code == 302
    # the old state cookie, challenge key and all, put back as a thief would
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], state.value)

    token = csrf_from(client.get("/account/passkeys"))
    response = client.post(
        "/account/passkeys",
        data={"csrf_token": token, "name": "Late", "credential": answer},
    )

    assert response.status_code == 422
    assert stored_passkeys(app, signed_in) == []


# -- two tabs of one browser -----------------------------------------------------------


def test_a_passkey_added_in_one_tab_is_kept_after_another_tab_started_adding_one(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    authenticator = Authenticator()
    first = registration_options(client).get_json()["options"]
    second = registration_options(client).get_json()["options"]
    token = csrf_from(client.get("/account/passkeys"))

    for name, options in [("First tab", first), ("Second tab", second)]:
        response = client.post(
            "/account/passkeys",
            data={
                "csrf_token": token,
                "name": name,
                "credential": authenticator.create(options),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)

    names = [p.name for p in stored_passkeys(app, signed_in)]
    assert names == ["First tab", "Second tab"]


def test_a_sign_in_page_left_open_signs_in_after_another_sign_in_page_opened(
    app: Flask, make_user: MakeUser
) -> None:
    member = member_with_passkey(app, make_user)
    browser = app.test_client()
    first_tab = sign_in_options(browser)  # its autofill waits
    sign_in_options(browser)  # another tab opens the sign-in page

    response = post_sign_in(browser, member.authenticator.get(first_tab))

    assert response.status_code == 302


def test_an_answer_counts_once_whichever_tab_asked(
    app: Flask, make_user: MakeUser
) -> None:
    member = member_with_passkey(
        app, make_user, authenticator=Authenticator(counting=False)
    )
    browser = app.test_client()
    first_tab = sign_in_options(browser)
    sign_in_options(browser)
    answer = member.authenticator.get(first_tab)
    assert post_sign_in(browser, answer).status_code == 302
    token = csrf_from(browser.get("/"))
    assert browser.post("/auth/logout", data={"csrf_token": token}).status_code == 302

    replayed = post_sign_in(browser, answer)

    assert replayed.status_code == 401
    assert not signed_in_on(browser)


def test_a_refused_new_passkey_does_not_tell_a_signed_in_member_to_sign_in(
    client: FlaskClient, signed_in: User
) -> None:
    response = add_passkey(client, Authenticator(), origin="https://elsewhere.example")

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "nothing was added to your account" in page
    assert "sign in with your password" not in page


# -- one credential, two accounts at once ---------------------------------------


def test_a_credential_stored_by_another_request_meanwhile_is_refused_not_a_500(
    app: Flask, client: FlaskClient, signed_in: User, make_user: MakeUser
) -> None:
    other = make_user()
    options = registration_options(client).get_json()["options"]
    answer = Authenticator().create(options)
    credential_id = unb64url(json.loads(answer)["rawId"])

    # the other request's insert lands between this one's check and its insert
    def clash(mapper: Any, connection: Any, target: Passkey) -> None:
        connection.execute(
            insert(Passkey).values(
                user_id=other.id,
                credential_id=credential_id,
                public_key=b"key",
                sign_count=0,
                transports="",
                backup_eligible=False,
                backed_up=False,
                aaguid="",
                name="Theirs",
                created_at=utcnow(),
            )
        )

    event.listen(Passkey, "before_insert", clash)
    try:
        token = csrf_from(client.get("/account/passkeys"))
        response = client.post(
            "/account/passkeys",
            data={"csrf_token": token, "name": "Mine", "credential": answer},
        )
    finally:
        event.remove(Passkey, "before_insert", clash)

    assert response.status_code == 422
    assert "already added" in response.get_data(as_text=True)
    assert stored_passkeys(app, signed_in) == []


def test_two_sessions_making_the_first_passkey_at_once_share_one_user_handle(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    theirs = b"h" * 64  # the handle another session of the member set meanwhile
    written: list[bool] = []

    def other_session_first(
        connection: Any, cursor: Any, statement: str, *args: Any
    ) -> None:
        if statement.startswith("UPDATE users") and not written:
            written.append(True)
            cursor.execute(
                "UPDATE users SET passkey_user_handle = ? WHERE id = ?"
                if connection.dialect.name == "sqlite"
                else "UPDATE users SET passkey_user_handle = %s WHERE id = %s",
                (theirs, signed_in.id),
            )

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", other_session_first)
    try:
        options = registration_options(client).get_json()["options"]
    finally:
        event.remove(engine, "before_cursor_execute", other_session_first)

    assert written
    assert unb64url(options["user"]["id"]) == theirs
    with app.app_context():
        stored = db.session.get_one(User, signed_in.id).passkey_user_handle
    assert stored == theirs


# -- the admin list ------------------------------------------------------------------


def give_passkeys(app: Flask, users: list[User]) -> None:
    with app.app_context():
        for user in users:
            for copy in range(2):
                db.session.add(
                    Passkey(
                        user_id=user.id,
                        credential_id=f"{user.id}-{copy}".encode(),
                        public_key=b"key",
                        name="Phone",
                    )
                )
        db.session.commit()
        db.session.remove()


def test_the_admin_list_counts_passkeys_in_one_query_whatever_the_page_holds(
    app: Flask,
    client: FlaskClient,
    make_user: MakeUser,
    count_queries: Callable[..., Any],
) -> None:
    admin = make_user(is_admin=True)
    assert sign_in(client, admin.email).status_code == 302
    give_passkeys(app, [make_user() for _ in range(2)])
    client.get("/admin/users")

    with count_queries() as few:
        client.get("/admin/users")
    give_passkeys(app, [make_user() for _ in range(12)])
    with count_queries() as many:
        response = client.get("/admin/users")

    assert response.status_code == 200
    assert response.get_data(as_text=True).count("2 passkeys") == 14
    assert len(many) == len(few), many.statements


# -- the admin's removal, the member signed in elsewhere -----------------------


def test_the_admin_removal_stops_the_passkey_of_a_member_signed_in_elsewhere(
    app: Flask, client: FlaskClient, make_user: MakeUser
) -> None:
    member: Member = member_with_passkey(app, make_user)
    admin = make_user(is_admin=True)
    assert sign_in(client, admin.email).status_code == 302
    # the member is midway through adding another passkey
    options = registration_options(member.browser).get_json()["options"]

    removed = submit(client, f"/admin/users/{member.user.id}/remove-passkeys", {})
    assert removed.status_code == 302

    assert (
        sign_in_with_passkey(app.test_client(), member.authenticator).status_code == 401
    )
    assert member.browser.get("/account/passkeys").status_code == 200  # still signed in
    token = csrf_from(member.browser.get("/account/passkeys"))
    response = member.browser.post(
        "/account/passkeys",
        data={
            "csrf_token": token,
            "name": "New phone",
            "credential": member.authenticator.create(options),
        },
    )
    assert response.status_code == 302
    assert [p.name for p in stored_passkeys(app, member.user)] == ["New phone"]
