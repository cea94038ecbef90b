"""How many SQL statements each page may cost: budgets, so an N+1 cannot creep in."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in


def test_anonymous_sign_in_page_reads_no_database(client, count_queries):
    client.get("/auth/login")

    with count_queries() as log:
        response = client.get("/auth/login")

    assert response.status_code == 200
    assert len(log) == 0, log.statements


def test_home_page_costs_the_session_and_user_then_its_summary(
    client, signed_in, count_queries
):
    with count_queries() as log:
        response = client.get("/")

    assert response.status_code == 200
    # the session and its user, the live sessions, the previous sign-in
    assert len(log) <= 3, log.statements


@pytest.mark.parametrize("path", ["/account/profile", "/account/password"])
def test_signed_in_page_costs_one_statement_for_session_and_user(
    client, signed_in, count_queries, path
):
    with count_queries() as log:
        response = client.get(path)

    assert response.status_code == 200
    assert len(log) <= 1, log.statements


def test_member_profile_costs_at_most_two_statements(
    client, signed_in, make_user, count_queries
):
    member = make_user(name="Grace")

    with count_queries() as log:
        response = client.get(f"/users/{member.id}")

    assert response.status_code == 200
    assert len(log) <= 2, log.statements


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
    assert len(few) <= 3, few.statements
    assert len(many) == len(few), many.statements


def test_sign_in_post_statements_are_bounded(client, make_user, count_queries):
    user = make_user()
    client.get("/auth/login")

    with count_queries() as log:
        response = sign_in(client, user.email)

    assert response.status_code == 302
    # the address's failure count; find the user; the browsers the account knows
    # (for a sign-in alert); insert the session and the security event; set
    # last_login_at
    assert len(log) <= 6, log.statements
