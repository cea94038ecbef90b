"""How many SQL statements each page costs: pinned, so an N+1 cannot creep in."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from app.extensions import db
from tests.conftest import sign_in


def test_anonymous_sign_in_page_reads_no_database(client, count_queries):
    client.get("/auth/login")

    with count_queries() as log:
        response = client.get("/auth/login")

    assert response.status_code == 200
    assert len(log) == 0, log.statements


@pytest.mark.parametrize("path", ["/", "/account/profile", "/account/password"])
def test_signed_in_page_loads_session_and_user_in_one_statement(
    client, signed_in, count_queries, path
):
    with count_queries() as log:
        response = client.get(path)

    assert response.status_code == 200
    assert len(log) == 1, log.statements
    assert "user_sessions" in log.statements[0] and "users" in log.statements[0]


def test_member_profile_costs_two_statements(
    client, signed_in, make_user, count_queries
):
    member = make_user(name="Grace")

    with count_queries() as log:
        response = client.get(f"/users/{member.id}")

    assert response.status_code == 200
    assert len(log) == 2, log.statements


def test_directory_page_cost_does_not_grow_with_members(
    client, signed_in, make_user, count_queries
):
    for number in range(25):
        make_user(name=f"Ada {number}", bio=f"bio {number}")

    with count_queries() as few:
        client.get("/users/?q=ada")
    for number in range(25, 60):
        make_user(name=f"Ada {number}", bio=f"bio {number}")
    with count_queries() as many:
        response = client.get("/users/?q=ada&page=2")

    assert response.status_code == 200
    # the session and its user, the count, one page of members
    assert len(few) == len(many) == 3, many.statements


def test_sign_in_post_statements_are_bounded(client, make_user, count_queries):
    user = make_user()
    client.get("/auth/login")

    with count_queries() as log:
        response = sign_in(client, user.email)

    assert response.status_code == 302
    # the address's failure count; find the user; insert the session and the
    # security event; set last_login_at
    assert len(log) <= 5, log.statements


def test_signed_in_pages_never_read_the_password_hash(
    client, signed_in, make_user, count_queries
):
    member = make_user(name="Grace")

    with count_queries() as log:
        for path in (
            "/",
            f"/users/{member.id}",
            "/users/?q=grace",
            "/account/profile",
            "/account/password",
        ):
            assert client.get(path).status_code == 200

    assert log.statements
    assert not [sql for sql in log.statements if "password_hash" in sql]


def test_profile_page_reads_on_one_connection_in_autocommit(
    app, client, signed_in, make_user
):
    member = make_user(name="Grace")
    checkouts: list[object] = []
    isolation: list[object] = []
    with app.app_context():
        engine = db.engine

    def on_checkout(*args: object) -> None:
        checkouts.append(args)

    def on_execute(connection: Any, *args: object) -> None:
        isolation.append(connection.get_execution_options().get("isolation_level"))

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        response = client.get(f"/users/{member.id}")
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "before_cursor_execute", on_execute)

    assert response.status_code == 200
    assert len(checkouts) == 1
    assert len(isolation) == 2
    # PostgreSQL reads skip the BEGIN and ROLLBACK round trips; SQLite's driver
    # opens no transaction for a read in the first place.
    expected = None if engine.dialect.name == "sqlite" else "AUTOCOMMIT"
    assert isolation == [expected, expected]
