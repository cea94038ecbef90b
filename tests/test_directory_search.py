"""Directory search and paging: accents, substrings, index plans, capped counts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, insert, text

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.models.user import name_key
from tests.conftest import TEST_DATABASE_URL
from tests.test_directory import NEXT_LINK_RE, member_ids, viewer, walk_directory

__all__ = ["viewer"]  # the fixture, shared with tests/test_directory.py

PREVIOUS_LINK_RE = re.compile(r'<a rel="prev" href="([^"]+)"')
sqlite_only = pytest.mark.skipif(
    TEST_DATABASE_URL is not None, reason="SQLite's query plans"
)


def add_members(app: Flask, names: list[str], **fields: Any) -> list[int]:
    """Insert listed members in bulk (no password hashing); return their ids."""
    now = utcnow()
    rows = [
        {
            "email": f"bulk{number}-{abs(hash(name))}@example.com",
            "name": name,
            "name_key": name_key(name),  # a bulk insert skips the validator
            "bio": "",
            "password_hash": "not-a-hash",
            "is_active": True,
            "is_admin": False,
            "is_listed": True,
            "email_verified_at": now,
            "created_at": now,
            **fields,
        }
        for number, name in enumerate(names)
    ]
    with app.app_context():
        ids = list(db.session.scalars(insert(User).returning(User.id), rows))
        db.session.commit()
        db.session.remove()
    return ids


def search(client: FlaskClient, query: str) -> list[int]:
    body = client.get("/users/", query_string={"q": query}).get_data(as_text=True)
    return member_ids(body)


# --- the normalised name ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Zoë", "zoe"),
        ("ZOË", "zoe"),
        ("José Núñez", "jose nunez"),
        ("Straße", "strasse"),
        ("İpek", "ipek"),  # casefolds to "i" and a combining dot
        ("ﬁona ㎒", "fiona mhz"),  # compatibility forms, "MHz" folded after NFKD
        # letters Unicode does not split, folded by a table of their own
        ("Søren Łukasz", "soren lukasz"),
        ("Björk Guðmundsdóttir", "bjork gudmundsdottir"),
        ("Ægir Þór Œuvre", "aegir thor oeuvre"),
    ],
)
def test_name_key_drops_case_and_accents(name, key):
    assert name_key(name) == key


@given(st.text(max_size=100))
def test_name_key_of_a_name_key_is_itself(name):
    # a query goes through name_key as the names do: both must land on one form
    assert name_key(name_key(name)) == name_key(name)


# --- search ----------------------------------------------------------------


def test_search_ignores_case_and_accents_both_ways(app, client, viewer):
    zoe, plain = add_members(app, ["Zoë Zed", "Zoe Plain"])
    add_members(app, ["Zed Other"])

    for query in ("zoe", "ZOE", "Zoë", "ZOË"):
        assert sorted(search(client, query)) == [zoe, plain], query


def test_search_and_order_fold_letters_unicode_does_not_split(app, client, viewer):
    lukasz, soren, bjork = add_members(
        app, ["Łukasz Nowak", "Søren Kierkegaard", "Björk Guðmundsdóttir"]
    )
    zoe = add_members(app, ["Zoë Zed"])[0]

    assert search(client, "lukasz") == search(client, "Łukasz") == [lukasz]
    assert search(client, "soren") == [soren]
    assert search(client, "gud") == [bjork]
    listed = member_ids(client.get("/users/").get_data(as_text=True))
    assert listed.index(lukasz) < listed.index(soren) < listed.index(zoe)


def test_search_matches_any_part_of_the_name(app, client, viewer):
    ada, jose, anna = add_members(app, ["Ada Lovelace", "José Núñez", "Anna Strasse"])
    add_members(app, ["Grace Hopper"])

    assert search(client, "lace") == [ada]
    assert search(client, "e nun") == [jose]
    assert search(client, "STRASSE") == search(client, "Straße") == [anna]


def test_queries_under_three_characters_match_the_start_of_words(app, client, viewer):
    zoe, zora, ada = add_members(app, ["Zoë Zed", "zora North", "Ada Zoom"])
    add_members(app, ["Amazon Mazo"])

    assert search(client, "zo") == [ada, zoe, zora]
    assert search(client, "Z") == [ada, zoe, zora]


def test_directory_orders_names_without_their_accents(app, client, viewer):
    ids = add_members(app, ["Émile Zola", "Dóra Antal", "Frida Kahlo", "Eve Adams"])
    dora, emile, eve, frida = ids[1], ids[0], ids[3], ids[2]

    assert member_ids(client.get("/users/").get_data(as_text=True)) == [
        dora,
        emile,
        eve,
        frida,
    ]


def test_search_follows_renames_hiding_and_deletion_at_once(app, client, viewer):
    # Few matches: found through the trigram index, which must keep up with users.
    renamed, hidden, deleted, inactive = add_members(
        app, ["Quinn Old", "Quinn Hidden", "Quinn Deleted", "Quinn Inactive"]
    )
    assert len(search(client, "quinn")) == 4

    with app.app_context():
        db.session.get(User, renamed).name = "Ottoline Quéméneur"
        db.session.get(User, hidden).is_listed = False
        db.session.get(User, inactive).is_active = False
        db.session.delete(db.session.get(User, deleted))
        db.session.commit()
        db.session.remove()

    assert search(client, "quinn") == []
    assert search(client, "quemen") == [renamed]
    with app.app_context():
        db.session.get(User, hidden).is_listed = True
        db.session.commit()
        db.session.remove()
    assert search(client, "quinn") == [hidden]


# --- pages with a capped count ------------------------------------------------


@pytest.fixture
def app_config() -> dict[str, Any]:
    """A count capped at 30, so a few dozen members are "more than" the cap."""
    return {"DIRECTORY_COUNT_CAP": 30}


def walk_back(client: FlaskClient, path: str) -> list[int]:
    """Follow the Previous links from a page; return every member shown, in order."""
    pages: list[list[int]] = []
    while True:
        body = client.get(path).get_data(as_text=True)
        pages.insert(0, member_ids(body))
        found = PREVIOUS_LINK_RE.search(body)
        if found is None:
            return [member for page in pages for member in page]
        path = str(found.group(1)).replace("&amp;", "&")


def last_page_path(client: FlaskClient, path: str) -> str:
    while True:
        body = client.get(path).get_data(as_text=True)
        found = NEXT_LINK_RE.search(body)
        if found is None:
            return path
        path = str(found.group(1)).replace("&amp;", "&")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("/users/", 75),  # more than the cap: the name order is walked
        ("/users/?q=mber", 75),  # a search with more matches than the cap
        ("/users/?q=ber+2", 15),  # few matches: found by the trigram index
        ("/users/?q=me", 75),  # a prefix
    ],
    ids=["all", "common", "rare", "prefix"],
)
def test_every_member_is_on_exactly_one_page_with_a_capped_count(
    app, client, viewer, start, expected
):
    ids = add_members(app, [f"Member {number % 25:02d}" for number in range(75)])

    forward = walk_directory(client, start)
    backward = walk_back(client, last_page_path(client, start))

    assert len(forward) == len(set(forward)) == expected
    assert backward == forward
    assert set(forward) <= set(ids)
    first = client.get(start).get_data(as_text=True)
    assert ("More than 30 members" in first) == (expected > 30)


def test_capped_count_is_shown_as_more_than_the_cap(app, client, viewer):
    add_members(app, [f"Member {number:02d}" for number in range(31)])

    body = client.get("/users/").get_data(as_text=True)

    assert "More than 30 members." in body
    assert "Page 1 of" not in body


def test_page_numbers_reach_as_far_as_the_count(app, client, viewer):
    ids = add_members(app, [f"Member {number:02d}" for number in range(75)])

    second = member_ids(client.get("/users/?page=2").get_data(as_text=True))
    beyond = client.get("/users/?page=999")

    assert second == ids[20:40]
    assert beyond.status_code == 200
    # 30 members are counted: two pages of 20; the second goes on with Next
    assert member_ids(beyond.get_data(as_text=True)) == ids[20:40]
    assert NEXT_LINK_RE.search(beyond.get_data(as_text=True))


def test_a_new_member_appears_on_the_next_page_at_once(app, client, viewer):
    add_members(app, [f"Member {number:02d}" for number in range(40)])
    body = client.get("/users/").get_data(as_text=True)
    following = NEXT_LINK_RE.search(body)
    assert following is not None

    [newcomer] = add_members(app, ["Member 20 Junior"])

    next_page = client.get(following.group(1).replace("&amp;", "&"))
    assert member_ids(next_page.get_data(as_text=True))[1] == newcomer


def test_a_forged_cursor_gives_the_first_page(app, client, viewer):
    first = add_members(app, ["Ada One", "Ada Two"])

    for cursor in ("nonsense", "-1:ada", "99999999999999999999:x", ":"):
        body = client.get("/users/", query_string={"after": cursor}).get_data(
            as_text=True
        )
        assert member_ids(body) == first, cursor


# --- query plans: the indexes serve the search -------------------------------


@pytest.fixture
def statements(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """The statements and parameters the app sends while the test runs."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def plans(app: Flask, sent: list[tuple[str, Any]], explain: str) -> dict[str, str]:
    """Return the plan of the count and of the page query the app sent.

    On PostgreSQL a few thousand rows are one sequential scan's worth: with that
    priced out, the plan shows what the indexes serve, as at a million rows.
    """
    found = {}
    with app.app_context(), db.engine.connect() as connection:
        if db.engine.dialect.name == "postgresql":
            connection.execute(text("SET enable_seqscan = off"))
        for statement, parameters in list(sent):  # EXPLAINs are recorded too
            if "users.bio" in statement:
                kind = "page"
            elif "count(" in statement:
                kind = "count"
            else:
                continue
            rows = connection.exec_driver_sql(explain + statement, parameters)
            found[kind] = "\n".join(" ".join(map(str, row)) for row in rows)
    return found


@pytest.fixture
def many_members(app: Flask) -> dict[str, Any]:
    """A few thousand members, three of them with a rare name; statistics taken."""
    names = [f"{first} Member {number}" for number in range(1500) for first in "AB"]
    ids = add_members(app, names)
    rare = add_members(app, ["Ottoline Quéméneur"] * 3)
    middle = sorted(zip(map(name_key, names), ids, strict=True))[1500]
    with app.app_context():
        # as after a bulk load on PostgreSQL: statistics, and the GIN index's
        # pending entries merged (which autovacuum does within a minute)
        command = (
            "VACUUM ANALYZE users, users_name_starts"
            if TEST_DATABASE_URL
            else "ANALYZE"
        )
        autocommit = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as connection:
            connection.execute(text(command))
    return {"rare": rare, "middle": f"{middle[1]}:{middle[0]}"}


@sqlite_only
def test_sqlite_finds_a_rare_substring_through_the_trigram_table(
    client, viewer, many_members, statements, app
):
    found = search(client, "quemen")

    plan = plans(app, statements, "EXPLAIN QUERY PLAN ")
    assert found == many_members["rare"]
    assert "users_name_search VIRTUAL TABLE" in plan["count"]
    assert "users_name_search VIRTUAL TABLE" in plan["page"]
    assert "SEARCH users USING INTEGER PRIMARY KEY" in plan["page"]
    assert not re.search(r"SCAN users\b(?!_)", plan["page"]), plan["page"]


@sqlite_only
def test_sqlite_walks_the_name_order_for_common_matches_and_deep_pages(
    client, viewer, many_members, statements, app
):
    client.get("/users/?q=member")
    common = plans(app, statements, "EXPLAIN QUERY PLAN ")
    statements.clear()
    client.get("/users/", query_string={"after": many_members["middle"]})
    deep = plans(app, statements, "EXPLAIN QUERY PLAN ")

    for plan in (common["page"], deep["page"]):
        # the page's ids: the index in order, nothing sorted but the 21 rows read
        ids = plan.split("SCAN anon_1")[0]
        assert "INDEX ix_users_directory" in ids, plan
        assert "TEMP B-TREE" not in ids, plan
    # a deep page starts at its place in the index
    assert "SEARCH users USING INDEX ix_users_directory (name_key>?)" in (deep["page"])


@pytest.mark.postgres
def test_postgres_finds_a_rare_substring_through_the_trigram_index(
    client, viewer, many_members, statements, app
):
    found = search(client, "quemen")

    plan = plans(app, statements, "EXPLAIN ")
    assert found == many_members["rare"]
    assert "Bitmap Index Scan on ix_users_name_search" in plan["count"]
    assert "Bitmap Index Scan on ix_users_name_search" in plan["page"]
    assert "Seq Scan" not in plan["page"]


@pytest.mark.postgres
def test_postgres_walks_the_name_order_for_common_matches_and_deep_pages(
    client, viewer, many_members, statements, app
):
    client.get("/users/?q=member")
    common = plans(app, statements, "EXPLAIN ")
    statements.clear()
    client.get("/users/", query_string={"after": many_members["middle"]})
    deep = plans(app, statements, "EXPLAIN ")

    for plan in (common["page"], deep["page"]):
        assert "Index Only Scan using ix_users_directory" in plan, plan
        assert "Bitmap" not in plan, plan
        # one sort: of the 21 rows read, not of the matches
        assert plan.count("Sort Key") == 1, plan
    assert "Index Cond: (ROW(name_key, id) > ROW(" in deep["page"]


# --- found in review -----------------------------------------------------------


@pytest.mark.parametrize("parameter", ["after", "before"])
@pytest.mark.parametrize("cursor", ["1:\x00", "1:ada\x00lovelace"])
def test_a_cursor_tampered_with_a_nul_is_no_500(
    client: FlaskClient, viewer: Any, parameter: str, cursor: str
) -> None:
    # Fails on PostgreSQL only (TEST_DATABASE_URL): Cursor.parse keeps the NUL and
    # psycopg refuses it ("PostgreSQL text fields cannot contain NUL (0x00) bytes").
    response = client.get("/users/", query_string={parameter: cursor})

    assert response.status_code == 200
