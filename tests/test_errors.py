"""Error pages in the site's layout, health probes, and a database that goes away."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from app import create_app
from app.extensions import db
from tests.conftest import BrowserLikeClient, sign_in
from tests.factories import UserFactory

LEAKS = (
    "Traceback",
    "RuntimeError",
    "deliberate failure",
    "OperationalError",
    "sqlite3",
    "SELECT",
)


def assert_error_page(response, code: int, title: str) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert f"<title>{title} · Vestibule</title>" in body
    assert '<nav aria-label="Main">' in body
    assert f"Error {code}" in body
    for leak in LEAKS:
        assert leak not in body
    return body


def unreachable_app(tmp_path: Path) -> Flask:
    """An app whose SQLite file sits in a directory that does not exist."""
    missing = tmp_path / "missing" / "vestibule.db"
    app = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}",
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    )
    app.test_client_class = BrowserLikeClient
    return app


def test_unknown_path_gives_404_page(client):
    assert_error_page(client.get("/no/such/page"), 404, "Page not found")


def test_get_of_a_post_only_address_gives_405_page_and_keeps_session(client, signed_in):
    response = client.get("/account/sessions/revoke-others")

    assert_error_page(response, 405, "Method not allowed")
    assert "POST" in response.headers["Allow"]
    assert signed_in.name in client.get("/").get_data(as_text=True)


def test_oversized_body_gives_413_page(app, client):
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1024

    response = client.post(
        "/auth/login", data={"email": "a@example.com", "password": "x" * too_big}
    )

    assert_error_page(response, 413, "Too large")


def test_unexpected_exception_gives_500_page_without_details(client):
    assert_error_page(client.get("/_testing/boom"), 500, "Something went wrong")


def test_500_page_is_shown_to_signed_in_users_too(client, signed_in):
    assert_error_page(client.get("/_testing/boom"), 500, "Something went wrong")
    assert client.get("/").status_code == 200


def test_healthz_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_answers_ok_when_database_answers(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_readyz_answers_503_when_database_is_unreachable(tmp_path):
    client = unreachable_app(tmp_path).test_client()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.is_json
    for leak in LEAKS:
        assert leak not in response.get_data(as_text=True)


def test_healthz_answers_ok_while_database_is_unreachable(tmp_path):
    client = unreachable_app(tmp_path).test_client()

    assert client.get("/healthz").status_code == 200


def test_page_needing_database_gives_503_page_when_it_is_unreachable(tmp_path):
    client = unreachable_app(tmp_path).test_client()
    client.set_cookie("vestibule_signin", "a-token-from-before-the-outage")

    response = client.get("/users/")

    assert_error_page(response, 503, "Temporarily unavailable")


def test_sign_in_during_outage_gives_503_page(tmp_path):
    client = unreachable_app(tmp_path).test_client()

    response = sign_in(client, "someone@example.com")

    assert_error_page(response, 503, "Temporarily unavailable")


@pytest.fixture
def movable_database(tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    """An app on a SQLite file whose directory the test can take away."""
    folder = tmp_path / "dbdir"
    folder.mkdir()
    app = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'vestibule.db'}",
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    )
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        upgrade()
    yield app, folder
    with app.app_context():
        db.engine.dispose()


def test_database_outage_gives_503_and_site_recovers(movable_database):
    app, folder = movable_database
    with app.app_context():
        email = UserFactory(name="Outage Olga").email
        db.session.remove()
    client = app.test_client()
    assert sign_in(client, email).status_code == 302

    folder.rename(folder.with_name("gone"))
    with app.app_context():
        db.engine.dispose()  # drop pooled connections, as a restarted server would
    during = client.get("/users/")
    ready_during = client.get("/readyz")
    folder.with_name("gone").rename(folder)
    after = client.get("/users/")

    assert_error_page(during, 503, "Temporarily unavailable")
    assert ready_during.status_code == 503
    assert after.status_code == 200
    assert "Outage Olga" in after.get_data(as_text=True)
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("path", ["/users/", "/account/security"])
def test_database_lost_after_the_session_lookup_gives_the_503_page(
    app: Flask, client, signed_in, path: str
) -> None:
    # The server goes away between the session lookup and the page's own query.
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def lose_the_server(connection, cursor, statement, *args) -> None:
        statements.append(statement)
        if len(statements) > 1:
            raise OperationalError(
                statement, {}, sqlite3.OperationalError("server closed the connection")
            )

    event.listen(engine, "before_cursor_execute", lose_the_server)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", lose_the_server)

    body = assert_error_page(response, 503, "Temporarily unavailable")
    assert signed_in.name in body  # the header still shows who is signed in
    assert "Content-Security-Policy" in response.headers
