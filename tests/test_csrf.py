"""Cross-site request forgery: every form POST needs this browser's own token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from time_machine import TimeMachineFixture
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import OutboxMail, SignUpClaim, User
from app.web.forms import EXPIRED_MESSAGE
from app.web.security import csrf_token_contents
from tests.conftest import csrf_from, link_in, sign_in, snapshot, submit
from tests.factories import PASSWORD

NEW_PASSWORD = "lantern orchard quietly sixteen"
FORM_DATA = {
    "name": "Mallory",
    "email": "mallory@example.com",
    "password": NEW_PASSWORD,
    "confirm": NEW_PASSWORD,
    "current": PASSWORD,
    "bio": "changed by a forged post",
    "listed": "y",
}


def form_post_rules(app: Flask) -> list[Rule]:
    """Every POST route of the app, except the routes that exist only for tests."""
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "POST" in (rule.methods or ())
            and not rule.endpoint.startswith("testing.")
        ),
        key=lambda rule: rule.rule,
    )


def path_of(rule: Rule) -> str:
    """A path for the rule, with "1" for each of its variables."""
    built = rule.build(dict.fromkeys(rule.arguments, "1"))
    assert built is not None, rule
    return built[1]


def count(app: Flask, model: type) -> int:
    with app.app_context():
        number = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return int(number or 0)


def assert_bad_request_page(response: TestResponse) -> None:
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "<title>Bad request · Vestibule</title>" in body
    assert '<nav aria-label="Main">' in body
    assert "Error 400" in body


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/account/profile").status_code == 200


@pytest.fixture
def other_browsers_token(app: Flask) -> str:
    """A genuine token, but issued to somebody else's browser (an attacker's)."""
    return csrf_from(app.test_client().get("/auth/register"))


def test_the_app_has_the_form_posts_this_file_checks(app: Flask) -> None:
    paths = {rule.rule for rule in form_post_rules(app)}

    assert {
        "/auth/register",
        "/auth/login",
        "/auth/logout",
        "/auth/forgot",
        "/auth/verify/resend",
        "/auth/reset/<token>",
        "/account/profile",
        "/account/password",
    } <= paths


@pytest.mark.parametrize(
    "token",
    [None, "", "garbage", "a.b.c", "another browser's"],
    ids=["missing", "empty", "garbage", "dotted", "another browser's"],
)
def test_every_form_post_without_a_valid_token_is_refused_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    signed_in: User,
    other_browsers_token: str,
    token: str | None,
) -> None:
    client.get("/")  # this browser holds a token of its own
    data = dict(FORM_DATA)
    if token == "another browser's":
        data["csrf_token"] = other_browsers_token
    elif token is not None:
        data["csrf_token"] = token
    problems = []

    for rule in form_post_rules(app):
        before = snapshot(app)
        response = client.post(path_of(rule), data=data)
        after = snapshot(app)
        if response.status_code != 400 or "Bad request" not in response.text:
            problems.append(f"{rule.rule}: answered {response.status_code}")
        changed = sorted(name for name in after if after[name] != before[name])
        if changed:
            problems.append(f"{rule.rule}: changed {changed}")

    assert problems == []
    assert is_signed_in(client)


def test_every_form_post_with_a_stale_token_changes_nothing_and_is_no_400(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    # A page opened before this browser signed out and in again (in another tab):
    # its form must come back (or ask again), never a bare "Bad request".
    stale = csrf_from(client.get("/"))
    client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/"))})
    assert sign_in(client, signed_in.email).status_code == 302
    problems = []

    for rule in form_post_rules(app):
        before = snapshot(app)
        response = client.post(path_of(rule), data={**FORM_DATA, "csrf_token": stale})
        after = snapshot(app)
        if "<title>Bad request · Vestibule</title>" in response.text:
            problems.append(f"{rule.rule}: answered the bad request page")
        changed = sorted(name for name in after if after[name] != before[name])
        if changed:
            problems.append(f"{rule.rule}: changed {changed}")
        if not is_signed_in(client):
            problems.append(f"{rule.rule}: signed the visitor out")
            assert sign_in(client, signed_in.email).status_code == 302

    assert problems == []


def test_error_page_for_a_missing_token_is_the_sites_own(client: FlaskClient) -> None:
    response = client.post("/auth/register", data=FORM_DATA)

    assert_bad_request_page(response)


@pytest.mark.parametrize("kind", ["garbage", "another browser's"])
def test_register_with_a_wrong_token_creates_no_account(
    app: Flask, client: FlaskClient, other_browsers_token: str, kind: str
) -> None:
    client.get("/auth/register")  # this browser has a token of its own
    token = "garbage" if kind == "garbage" else other_browsers_token

    response = client.post("/auth/register", data={**FORM_DATA, "csrf_token": token})

    assert_bad_request_page(response)
    assert count(app, User) == 0
    assert count(app, OutboxMail) == 0


def test_register_without_a_token_creates_no_account(
    app: Flask, client: FlaskClient
) -> None:
    response = client.post("/auth/register", data=FORM_DATA)

    assert_bad_request_page(response)
    assert count(app, User) == 0
    assert count(app, OutboxMail) == 0


def test_password_change_without_a_token_keeps_the_password(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    response = client.post(
        "/account/password",
        data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert_bad_request_page(response)
    assert sign_in(app.test_client(), signed_in.email, NEW_PASSWORD).status_code == 401
    assert sign_in(app.test_client(), signed_in.email, PASSWORD).status_code == 302


def test_logout_without_a_token_keeps_you_signed_in(
    client: FlaskClient, signed_in: User
) -> None:
    response = client.post("/auth/logout")

    assert_bad_request_page(response)
    assert is_signed_in(client)


def test_logout_with_another_browsers_token_keeps_you_signed_in(
    client: FlaskClient, signed_in: User, other_browsers_token: str
) -> None:
    client.get("/")  # this browser holds a token of its own
    response = client.post("/auth/logout", data={"csrf_token": other_browsers_token})

    assert_bad_request_page(response)
    assert is_signed_in(client)


def test_logout_with_the_pages_token_signs_out(
    client: FlaskClient, signed_in: User
) -> None:
    token = csrf_from(client.get("/"))

    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert not is_signed_in(client)


def test_forgot_without_a_token_mails_nothing(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()

    response = client.post("/auth/forgot", data={"email": user.email})

    assert_bad_request_page(response)
    assert count(app, OutboxMail) == 0


def test_reset_without_a_token_keeps_the_password(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    outbox: Callable[[], list[OutboxMail]],
) -> None:
    user = make_user()
    submit(client, "/auth/forgot", {"email": user.email})
    path = link_in(outbox()[-1].body)

    response = client.post(
        path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )

    assert_bad_request_page(response)
    assert sign_in(app.test_client(), user.email, PASSWORD).status_code == 302
    assert client.get(path).status_code == 200  # the link was not used up


# --- a form left open past WTF_CSRF_TIME_LIMIT ----------------------------------------


def let_the_page_expire(time_machine: TimeMachineFixture) -> None:
    time_machine.shift(timedelta(seconds=3600 + 5))


def assert_form_expired(
    response: TestResponse, kept: dict[str, str], secrets: list[str]
) -> None:
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert str(EXPIRED_MESSAGE) in body
    assert "This form expired, please submit it again" in body
    for name, value in kept.items():
        assert f'name="{name}"' in body
        assert f'value="{value}"' in body, f"{name} was not kept"
    for secret in secrets:
        assert secret not in body


def test_expired_register_form_comes_back_with_what_was_typed(
    app: Flask, client: FlaskClient, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(datetime.now(UTC))
    token = csrf_from(client.get("/auth/register"))
    let_the_page_expire(time_machine)
    before = snapshot(app)

    response = client.post("/auth/register", data={**FORM_DATA, "csrf_token": token})

    assert_form_expired(
        response, {"name": "Mallory", "email": "mallory@example.com"}, [NEW_PASSWORD]
    )
    assert snapshot(app) == before
    again = client.post(
        "/auth/register", data={**FORM_DATA, "csrf_token": csrf_from(response)}
    )
    assert again.status_code == 302
    assert count(app, SignUpClaim) == 1


def test_expired_login_form_comes_back_and_signs_nobody_in(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    time_machine: TimeMachineFixture,
) -> None:
    user = make_user()
    time_machine.move_to(datetime.now(UTC))
    token = csrf_from(client.get("/auth/login"))
    let_the_page_expire(time_machine)
    before = snapshot(app)

    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )

    assert_form_expired(response, {"email": user.email}, [PASSWORD])
    assert snapshot(app) == before
    assert not is_signed_in(client)


def test_expired_password_form_comes_back_and_keeps_the_password(
    app: Flask, client: FlaskClient, signed_in: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(datetime.now(UTC))
    token = csrf_from(client.get("/account/password"))
    let_the_page_expire(time_machine)
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

    assert_form_expired(response, {}, [PASSWORD, NEW_PASSWORD])
    assert snapshot(app) == before
    assert sign_in(app.test_client(), signed_in.email, PASSWORD).status_code == 302


def test_expired_forgot_form_comes_back_and_mails_nothing(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    time_machine: TimeMachineFixture,
) -> None:
    user = make_user()
    time_machine.move_to(datetime.now(UTC))
    token = csrf_from(client.get("/auth/forgot"))
    let_the_page_expire(time_machine)

    response = client.post(
        "/auth/forgot", data={"email": user.email, "csrf_token": token}
    )

    assert_form_expired(response, {"email": user.email}, [])
    assert count(app, OutboxMail) == 0


def test_expired_token_from_another_browser_is_refused(
    app: Flask, client: FlaskClient, signed_in: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(datetime.now(UTC))
    attackers_token = csrf_from(app.test_client().get("/auth/login"))
    let_the_page_expire(time_machine)
    client.get("/")  # the victim's browser holds a token of its own

    response = client.post("/auth/logout", data={"csrf_token": attackers_token})

    assert_bad_request_page(response)
    assert is_signed_in(client)


def test_cross_site_post_with_this_browsers_expired_token_is_refused(
    client: FlaskClient, signed_in: User, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(datetime.now(UTC))
    token = csrf_from(client.get("/"))
    let_the_page_expire(time_machine)

    response = client.post(
        "/auth/logout",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )

    assert_bad_request_page(response)
    assert is_signed_in(client)


# --- routing errors come before the token check ----------------------------------

ROUTING_ERRORS = [
    ("POST", "/no/such/page", 404),
    ("PUT", "/no/such/page", 404),
    ("DELETE", "/auth/nothing-here", 404),
    ("PATCH", "/account/nothing-here", 404),
    ("PUT", "/auth/login", 405),
    ("DELETE", "/auth/logout", 405),
    ("PATCH", "/account/profile", 405),
    ("PUT", "/account/password", 405),
    ("POST", "/users/me", 405),
    ("PUT", "/auth/check-inbox", 405),
    ("POST", "/", 405),
]
ROUTING_TITLES = {404: "Page not found", 405: "Method not allowed"}


@pytest.mark.parametrize(("method", "path", "status"), ROUTING_ERRORS)
@pytest.mark.parametrize("token", ["none", "garbage", "the page's"])
def test_routing_errors_are_answered_whatever_the_token(
    app: Flask,
    client: FlaskClient,
    signed_in: User,
    method: str,
    path: str,
    status: int,
    token: str,
) -> None:
    data = {
        "none": {},
        "garbage": {"csrf_token": "garbage"},
        "the page's": {"csrf_token": csrf_from(client.get("/"))},
    }[token]
    before = snapshot(app)

    response = client.open(path, method=method, data=data)

    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert f"<title>{ROUTING_TITLES[status]} · Vestibule</title>" in body
    assert f"Error {status}" in body
    if status == 405:
        assert method not in response.headers["Allow"]
    assert snapshot(app) == before
    assert is_signed_in(client)


def test_the_site_reads_the_secret_and_time_of_a_token_flask_wtf_made(
    app: Flask, time_machine: TimeMachineFixture
) -> None:
    # Expired and stale forms come back with what was typed only if the site can
    # read Flask-WTF's tokens; a release that makes them otherwise fails here.
    from flask import session
    from flask_wtf.csrf import generate_csrf

    time_machine.move_to(datetime(2026, 5, 1, 12, 0, tzinfo=UTC), tick=False)
    with app.test_request_context():
        token = generate_csrf()
        secret = session[app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")]

        assert csrf_token_contents(token, app.secret_key) == (
            secret,
            datetime(2026, 5, 1, 12, 0, tzinfo=UTC).timestamp(),
        )
        assert csrf_token_contents(token, "another site's key") is None
