"""Passkey helpers: the ceremonies through the site's posts, as passkeys.js does."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import Passkey, PasskeyChallenge, User
from tests.authenticator import Authenticator
from tests.conftest import csrf_from, sign_in
from tests.factories import PASSWORD

# A two-factor secret, for accounts given two-factor straight in the database.
TWO_FACTOR_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def registration_options(
    client: FlaskClient, password: str | None = PASSWORD, **fields: str
) -> TestResponse:
    """Ask for the options of a new passkey, as the passkeys page's script does."""
    token = csrf_from(client.get("/account/passkeys"))
    data = {"csrf_token": token, "name": "My laptop", **fields}
    if password is not None:
        data["password"] = password
    return client.post("/account/passkeys/options", data=data)


def add_passkey(
    client: FlaskClient,
    authenticator: Authenticator,
    name: str = "My laptop",
    password: str | None = PASSWORD,
    code: str | None = None,
    **bend: Any,
) -> TestResponse:
    """Add a passkey to the member signed in on `client`, through the pages.

    `code` is the two-factor code to confirm with, for an account that has it on.
    `bend` is passed to the authenticator (another origin, no user verification...).
    """
    answer = registration_options(
        client, password, **({"code": code} if code is not None else {})
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    options = answer.get_json()["options"]
    credential = authenticator.create(options, **bend)
    token = csrf_from(client.get("/account/passkeys"))
    return client.post(
        "/account/passkeys",
        data={"csrf_token": token, "name": name, "credential": credential},
    )


def sign_in_options(client: FlaskClient) -> dict[str, Any]:
    """Ask for a passkey sign-in's options, as the sign-in page's script does."""
    token = csrf_from(client.get("/auth/login"))
    answer = client.post("/auth/passkey/options", data={"csrf_token": token})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    options: dict[str, Any] = answer.get_json()["options"]
    return options


def post_sign_in(client: FlaskClient, credential: str, **fields: str) -> TestResponse:
    """Post a passkey's answer to the sign-in page's passkey form."""
    token = csrf_from(client.get("/auth/login"))
    return client.post(
        "/auth/passkey",
        data={"csrf_token": token, "credential": credential, **fields},
    )


def sign_in_with_passkey(
    client: FlaskClient, authenticator: Authenticator, **bend: Any
) -> TestResponse:
    """Sign in with a passkey from the sign-in page, typing no address."""
    options = sign_in_options(client)
    return post_sign_in(client, authenticator.get(options, **bend))


def second_step_options(client: FlaskClient) -> dict[str, Any]:
    """Ask for the options of a passkey as the second step of a pending sign-in."""
    token = csrf_from(client.get("/auth/two-factor"))
    answer = client.post("/auth/two-factor/passkey/options", data={"csrf_token": token})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    options: dict[str, Any] = answer.get_json()["options"]
    return options


def post_second_step(client: FlaskClient, credential: str) -> TestResponse:
    token = csrf_from(client.get("/auth/two-factor"))
    return client.post(
        "/auth/two-factor/passkey",
        data={"csrf_token": token, "credential": credential},
    )


def options_json(response: TestResponse) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(response.get_data(as_text=True))
    return data


@dataclass
class Member:
    """A member with a passkey, and the browser that added it (still signed in)."""

    user: User
    authenticator: Authenticator
    browser: FlaskClient


def member_with_passkey(
    app: Flask,
    make_user: Callable[..., User],
    name: str = "My laptop",
    authenticator: Authenticator | None = None,
    **fields: Any,
) -> Member:
    """Make a member and add a passkey to the account through the pages."""
    user = make_user(**fields)
    browser = app.test_client()
    assert sign_in(browser, user.email).status_code == 302
    authenticator = authenticator or Authenticator()
    response = add_passkey(browser, authenticator, name=name)
    assert response.status_code == 302, response.get_data(as_text=True)
    return Member(user, authenticator, browser)


def turn_on_two_factor(app: Flask, user: User) -> None:
    """Give the account two-factor sign-in, straight in the database."""
    with app.app_context():
        db.session.get_one(User, user.id).totp_secret = TWO_FACTOR_SECRET
        db.session.commit()
        db.session.remove()


def stored_passkeys(app: Flask, user: User) -> list[Passkey]:
    """The account's passkeys as stored, oldest first, detached."""
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id)
            )
        )
        db.session.expunge_all()
        db.session.remove()
    return rows


def waiting_challenges(app: Flask) -> int:
    """How many ceremony challenges the site keeps."""
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(PasskeyChallenge))
        db.session.remove()
    return count or 0


def with_state_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s state cookie, as a thief would."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None, "the browser has no state cookie"
    copy = app.test_client()
    copy.set_cookie(name, cookie.value)
    return copy
