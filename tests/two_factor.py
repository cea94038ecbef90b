"""Two-factor helpers: turn it on through the pages, and read codes as an app would."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pyotp
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.models.base import utcnow
from tests.conftest import submit
from tests.factories import PASSWORD

SECRET_RE = re.compile(r'id="two-factor-secret">([A-Z2-7 ]+)<')
RECOVERY_CODE_RE = re.compile(r"<li><code>([a-z0-9-]+)</code></li>")


def secret_on(page: TestResponse) -> str:
    """Read the secret the set-up page shows as text, as someone typing it would."""
    match = SECRET_RE.search(page.get_data(as_text=True))
    assert match, "the page shows no secret"
    return match.group(1).replace(" ", "")


def code_for(secret: str, steps: int = 0, at: datetime | None = None) -> str:
    """The code an app shows for `secret` now (or `at`), `steps` steps of 30 s off."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(at or utcnow()) + steps)


def recovery_codes_on(page: TestResponse) -> list[str]:
    return [html.unescape(c) for c in RECOVERY_CODE_RE.findall(page.get_data(True))]


def turn_on(client: FlaskClient, password: str = PASSWORD) -> tuple[str, list[str]]:
    """Turn two-factor on for the member signed in on `client`, through the pages.

    Returns the secret and the ten recovery codes shown.
    """
    page = client.get("/account/two-factor")
    secret = secret_on(page)
    response = submit(
        client,
        "/account/two-factor",
        {
            "enrolment": enrolment_on(page),
            "code": code_for(secret),
            "password": password,
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = recovery_codes_on(response)
    assert len(codes) == 10
    return secret, codes


def enrolment_on(page: TestResponse) -> str:
    match = re.search(r'name="enrolment"[^>]*value="([^"]+)"', page.get_data(True))
    assert match, "the set-up page has no enrolment field"
    return html.unescape(match.group(1))


def second_step(client: FlaskClient, code: str, trust: bool = False) -> TestResponse:
    """Post a code to the second step of a pending sign-in."""
    data = {"code": code}
    if trust:
        data["trust"] = "y"
    return submit(client, "/auth/two-factor", data)
