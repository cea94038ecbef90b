"""Passkey helpers: the ceremonies through the site's posts, as passkeys.js does."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.authenticator import Authenticator
from tests.conftest import csrf_from
from tests.factories import PASSWORD


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
