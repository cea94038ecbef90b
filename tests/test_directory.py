"""The member directory and member profiles: who is listed, search, pages, 404s."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from app.extensions import db
from app.models import User
from tests.conftest import sign_in, submit
from tests.factories import UserFactory

MEMBER_LINK_RE = re.compile(r'href="/users/(\d+)"')
NEXT_LINK_RE = re.compile(r'<a rel="next" href="([^"]+)"')


def member_ids(page: str) -> list[int]:
    """Return the ids of the members a directory page links to, in page order."""
    return [int(found) for found in MEMBER_LINK_RE.findall(page)]


def assert_not_found_page(response) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<title>Page not found · Vestibule</title>" in body
    assert '<nav aria-label="Main">' in body


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Build with production's DIRECTORY_COUNT_TTL (30 s); testing's was 0.

    That zero hid the stale pages a reused count caused: should such a setting come
    back, these tests see what production would.
    """
    return {"DIRECTORY_COUNT_TTL": 30}


@pytest.fixture
def viewer(client: FlaskClient, make_user: Callable[..., User]) -> User:
    """A signed-in member who is hidden, so only the test's members are listed."""
    user = make_user(name="Viewer", is_listed=False)
    assert sign_in(client, user.email).status_code == 302
    return user


def test_directory_sends_anonymous_visitors_to_sign_in_and_back(client):
    response = client.get("/users/?q=ada")

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login"
    assert parse_qs(location.query)["next"] == ["/users/?q=ada"]


def test_member_profile_sends_anonymous_visitors_to_sign_in(client, make_user):
    member = make_user()

    response = client.get(f"/users/{member.id}")

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"


def test_directory_lists_active_verified_listed_members(client, viewer, make_user):
    shown = make_user(name="Shown Member", bio="Writes compilers")

    page = client.get("/users/")

    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert member_ids(body) == [shown.id]
    assert "Shown Member" in body
    assert "Writes compilers" in body


@pytest.mark.parametrize(
    "fields",
    [
        {"is_active": False},
        {"email_verified_at": None},
        {"is_listed": False},
    ],
    ids=["inactive", "unverified", "hidden"],
)
def test_directory_hides_members_who_may_not_be_listed(
    client, viewer, make_user, fields
):
    make_user(name="Visible Person")
    absent = make_user(name="Absent Person", **fields)

    listing = client.get("/users/").get_data(as_text=True)
    search = client.get("/users/?q=absent").get_data(as_text=True)

    assert absent.id not in member_ids(listing)
    assert "Absent Person" not in listing
    assert member_ids(search) == []
    assert "Visible Person" in listing


def test_directory_search_is_case_insensitive_substring(client, viewer, make_user):
    ada = make_user(name="Ada Lovelace")
    make_user(name="Grace Hopper")

    assert member_ids(client.get("/users/?q=LOVE").get_data(as_text=True)) == [ada.id]
    assert member_ids(client.get("/users/?q=a%20lov").get_data(as_text=True)) == [
        ada.id
    ]


@pytest.mark.parametrize(
    ("query", "match", "other"),
    [
        ("0% s", "100% Sure", "100 Sure"),
        ("e_c", "snake_case", "snakeXcase"),
        ("a\\b", "a\\b Fan", "ab Fan"),
        ("%", "%Percent", "Plain Name"),  # under three characters: the name's start
    ],
    ids=["percent", "underscore", "backslash", "short-percent"],
)
def test_directory_search_treats_wildcards_literally(
    client, viewer, make_user, query, match, other
):
    wanted = make_user(name=match)
    make_user(name=other)

    found = client.get("/users/", query_string={"q": query}).get_data(as_text=True)

    assert member_ids(found) == [wanted.id]


def test_directory_search_echoes_the_query_escaped(client, viewer):
    body = client.get(
        "/users/", query_string={"q": "<script>alert(1)</script>"}
    ).get_data(as_text=True)

    assert "<script>alert(1)</script>" not in body
    assert str(escape("<script>alert(1)</script>")) in body


def _make_members(app: Flask, count: int) -> set[int]:
    with app.app_context():
        # few distinct names: the order must stay stable among equal names
        members = [UserFactory(name=f"Member {n % 3}") for n in range(count)]
        ids = {member.id for member in members}
        db.session.remove()
    return ids


def test_directory_pages_by_twenty_without_repeats_or_gaps(app, client, viewer):
    expected = _make_members(app, 45)

    pages = [
        member_ids(client.get(f"/users/?page={n}").get_data(as_text=True))
        for n in (1, 2, 3)
    ]

    assert [len(page) for page in pages] == [20, 20, 5]
    seen = [member for page in pages for member in page]
    assert len(seen) == len(set(seen))
    assert set(seen) == expected


def test_directory_order_is_stable_between_requests(app, client, viewer):
    _make_members(app, 45)

    first = [
        member_ids(client.get(f"/users/?page={n}").get_data(as_text=True))
        for n in (1, 2, 3)
    ]
    again = [
        member_ids(client.get(f"/users/?page={n}").get_data(as_text=True))
        for n in (1, 2, 3)
    ]

    assert first == again


def test_directory_sorts_members_by_name(client, viewer, make_user):
    zoe = make_user(name="zoë Zed")
    adam = make_user(name="Adam Ant")
    mia = make_user(name="mia Middle")

    assert member_ids(client.get("/users/").get_data(as_text=True)) == [
        adam.id,
        mia.id,
        zoe.id,
    ]


@pytest.mark.parametrize("page", ["0", "-3", "abc", "", "1e3", "%00", "1;drop"])
def test_directory_treats_garbage_page_numbers_as_the_first_page(
    app, client, viewer, page
):
    _make_members(app, 25)
    first = member_ids(client.get("/users/").get_data(as_text=True))

    response = client.get(f"/users/?page={page}")

    assert response.status_code == 200
    assert member_ids(response.get_data(as_text=True)) == first


@pytest.mark.parametrize("page", ["3", "999", "99999999999999999999999"])
def test_directory_answers_pages_past_the_end_without_error(app, client, viewer, page):
    _make_members(app, 25)

    response = client.get(f"/users/?page={page}")

    assert response.status_code == 200
    assert "<h1>Members</h1>" in response.get_data(as_text=True)


def test_directory_search_pages_keep_the_query(app, client, viewer):
    _make_members(app, 25)

    body = client.get("/users/?q=member").get_data(as_text=True)

    following = NEXT_LINK_RE.search(body)
    assert following is not None
    assert following.group(1).startswith("/users/?q=member&amp;after=")


def test_member_profile_shows_a_listed_member(client, viewer, make_user):
    member = make_user(name="Katherine Johnson", bio="Counts orbits")

    response = client.get(f"/users/{member.id}")

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Katherine Johnson" in body
    assert "Counts orbits" in body


def test_member_profile_of_unknown_id_is_not_found(client, viewer):
    assert_not_found_page(client.get("/users/987654"))


@pytest.mark.parametrize(
    "fields",
    [
        {"is_active": False},
        {"is_listed": False},
        {"email_verified_at": None},
    ],
    ids=["inactive", "hidden", "unverified"],
)
def test_member_profile_is_not_found_when_not_visible(
    client, viewer, make_user, fields
):
    member = make_user(name="Secret Person", **fields)

    response = client.get(f"/users/{member.id}")

    assert_not_found_page(response)
    assert "Secret Person" not in response.get_data(as_text=True)


def test_hidden_member_sees_own_profile(client, make_user):
    hidden = make_user(name="Hidden Owner", is_listed=False)
    sign_in(client, hidden.email)

    response = client.get(f"/users/{hidden.id}")

    assert response.status_code == 200
    assert "Hidden Owner" in response.get_data(as_text=True)


def test_admin_sees_hidden_member_profile(client, make_user):
    admin = make_user(is_admin=True)
    hidden = make_user(name="Hidden From Members", is_listed=False)
    sign_in(client, admin.email)

    response = client.get(f"/users/{hidden.id}")

    assert response.status_code == 200
    assert "Hidden From Members" in response.get_data(as_text=True)


def test_users_me_redirects_to_own_profile(client, signed_in):
    response = client.get("/users/me")

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/users/{signed_in.id}"


def test_last_pages_are_read_from_the_end_without_gaps(client, viewer, make_user):
    names = [f"Member {number:03d}" for number in range(63)]
    for name in names:
        make_user(name=name)

    seen = []
    for page in range(1, 5):
        seen += member_ids(
            client.get(f"/users/?q=member&page={page}").get_data(as_text=True)
        )

    assert len(seen) == len(set(seen)) == 63


def _make_named(app: Flask, names: list[str]) -> list[int]:
    """Create listed members with these names; return their ids in the same order."""
    with app.app_context():
        ids = [UserFactory(name=name).id for name in names]
        db.session.remove()
    return ids


def walk_directory(client: FlaskClient, path: str = "/users/") -> list[int]:
    """Follow the Next links from a directory page; return every member shown."""
    seen: list[int] = []
    while True:
        body = client.get(path).get_data(as_text=True)
        seen += member_ids(body)
        following = NEXT_LINK_RE.search(body)
        if following is None:
            return seen
        path = str(following.group(1)).replace("&amp;", "&")


def test_member_who_joins_after_a_page_view_is_on_the_right_page_at_once(
    app, client, viewer
):
    earlier = _make_named(app, [f"Member {number:02d}" for number in range(40)])
    before = client.get("/users/?page=2").get_data(as_text=True)
    assert member_ids(before) == earlier[20:]

    [newcomer] = _make_named(app, ["Member 40"])

    page_two = client.get("/users/?page=2").get_data(as_text=True)
    page_three = client.get("/users/?page=3").get_data(as_text=True)
    assert member_ids(page_two) == earlier[20:]
    assert member_ids(page_three) == [newcomer]


def test_member_who_lists_their_profile_again_is_found_by_search_at_once(
    app, client, viewer, make_user
):
    member = make_user(name="Rita Returning", is_listed=False)
    assert member_ids(client.get("/users/?q=rita").get_data(as_text=True)) == []
    own = app.test_client()
    sign_in(own, member.email)

    saved = submit(own, "/account/profile", {"name": member.name, "listed": "y"})

    assert saved.status_code == 302
    found = client.get("/users/?q=rita").get_data(as_text=True)
    assert member_ids(found) == [member.id]


def test_every_member_is_on_exactly_one_page_after_others_join(app, client, viewer):
    first = _make_members(app, 45)
    assert len(walk_directory(client)) == 45
    assert len(walk_directory(client, "/users/?q=member")) == 45

    later = _make_members(app, 12)

    for start in ("/users/", "/users/?q=member"):
        seen = walk_directory(client, start)
        assert len(seen) == len(set(seen)), start
        assert set(seen) == first | later, start
