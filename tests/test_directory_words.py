"""Short directory searches: the start of any word, any part of spaceless scripts."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, inspect, select

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.models.user import name_key, name_starts
from app.services.directory import list_members
from tests.test_directory import NEXT_LINK_RE, walk_directory
from tests.test_directory_search import (
    add_members,
    many_members,
    plans,
    search,
    sqlite_only,
    statements,
    viewer,
)
from tests.test_migrations import OLD_USERS, empty_sqlite, postgres_schema

# fixtures, shared with the files they come from
__all__ = ["empty_sqlite", "many_members", "postgres_schema", "statements", "viewer"]


@pytest.mark.parametrize(
    ("name", "starts"),
    [
        ("Katherine Johnson", ["j", "jo", "k", "ka"]),
        ("O'Brien-Núñez", ["b", "br", "n", "nu", "o", "o'"]),
        ("李小龍", ["小", "小龍", "李", "李小", "龍"]),
        ("Ann 山田", ["a", "an", "山", "山田", "田"]),
        ("(Bob)", ["(", "(b", "b", "bo"]),  # the start of the name, as before
        ("", []),
    ],
)
def test_name_starts_are_the_first_letters_of_each_word(name, starts):
    assert name_starts(name) == starts


@given(st.text(max_size=60))
def test_the_start_of_every_word_finds_the_name(name):
    key = name_key(name)
    starts = name_starts(name)
    for word in key.split():
        if word[0].isalnum():  # "(bob)": "b" and "bo" start the word
            assert word[:1] in starts and word[:2] in starts, (key, word)
    assert name_starts(key) == starts  # a query goes through name_key too


def test_one_or_two_letters_find_the_start_of_any_word(app, client, viewer):
    katherine, jose, obrien = add_members(
        app, ["Katherine Johnson", "José Núñez", "Sinéad O'Brien-Jones"]
    )
    add_members(app, ["Ada Lovelace"])

    assert search(client, "jo") == [jose, katherine, obrien]
    assert search(client, "J") == [jose, katherine, obrien]
    assert search(client, "nu") == [jose]
    assert search(client, "br") == [obrien]
    # not at the start of a word: below three letters, no match
    assert search(client, "hn") == []
    assert search(client, "ce") == []
    assert search(client, "ohn") == [katherine]  # three: any part


def test_names_in_scripts_without_spaces_are_found_by_any_part(app, client, viewer):
    spaced, joined, yamada, katakana, thai = add_members(
        app,
        ["李 小龍", "李小龍", "山田太郎", "ヤマダ タロウ", "สมชายใจดี"],
    )

    assert search(client, "小龍") == [spaced, joined]
    assert search(client, "龍") == [spaced, joined]
    assert search(client, "太郎") == [yamada]
    assert search(client, "田太郎") == [yamada]  # three: the trigram index
    assert search(client, "ダ") == [katakana]
    assert search(client, "ใจ") == [thai]  # Thai: "Jaidee" in "Somchai Jaidee"
    assert search(client, "ใจดี") == [thai]
    assert search(client, "大") == []


def test_short_searches_follow_renames_hiding_and_deletion_at_once(app, client, viewer):
    renamed, hidden, deleted, inactive = add_members(
        app, ["Quinn Xu", "Quinn Xi", "Quinn Xa", "Quinn Xe"]
    )
    assert len(search(client, "xu")) == 1
    assert len(search(client, "x")) == 4

    with app.app_context():
        db.session.get(User, renamed).name = "Ottoline Yu"
        db.session.get(User, hidden).is_listed = False
        db.session.get(User, inactive).is_active = False
        db.session.delete(db.session.get(User, deleted))
        db.session.commit()
        db.session.remove()

    assert search(client, "x") == []
    assert search(client, "yu") == [renamed]
    with app.app_context():
        db.session.get(User, hidden).is_listed = True
        db.session.commit()
        db.session.remove()
    assert search(client, "x") == [hidden]


@pytest.fixture
def app_config() -> dict[str, Any]:
    """A count capped at 30, so a few dozen members are "more than" the cap."""
    return {"DIRECTORY_COUNT_CAP": 30}


def test_a_word_start_pages_through_every_match_once(app, client, viewer):
    firsts = add_members(app, [f"Member {number:02d} Smith" for number in range(40)])
    others = add_members(app, [f"Ann {number:02d} Smithers" for number in range(35)])
    add_members(app, ["Blacksmith Other"] * 5)

    found = walk_directory(client, "/users/?q=sm")
    first = client.get("/users/?q=sm").get_data(as_text=True)

    assert found == others + firsts
    assert "More than 30 members" in first


# --- query plans: the starts' key serves the short search ---------------------


def next_page(client: FlaskClient, path: str) -> str:
    """The path of the Next link on the page at `path`."""
    found = NEXT_LINK_RE.search(client.get(path).get_data(as_text=True))
    assert found is not None
    return str(found.group(1)).replace("&amp;", "&")


@sqlite_only
def test_sqlite_reads_a_short_search_from_the_word_starts_key(
    client, viewer, many_members, statements, app
):
    client.get("/users/?q=me")
    first = plans(app, statements, "EXPLAIN QUERY PLAN ")
    cursor = next_page(client, "/users/?q=me")
    statements.clear()
    client.get(cursor)
    deep = plans(app, statements, "EXPLAIN QUERY PLAN ")

    key = "SEARCH users_name_starts USING PRIMARY KEY (start=?"
    assert key in first["count"], first["count"]
    for plan in (first["page"], deep["page"]):
        ids = plan.split("SCAN anon_1")[0]
        assert key in ids, plan
        assert "TEMP B-TREE" not in ids, plan  # in name order: nothing sorted
    # a deep page starts at its place in the key
    assert "(start=? AND (name_key,user_id)>(?,?))" in deep["page"], deep["page"]


@pytest.mark.postgres
def test_postgres_reads_a_short_search_from_the_word_starts_key(
    client, viewer, many_members, statements, app
):
    client.get("/users/?q=me")
    first = plans(app, statements, "EXPLAIN ")
    cursor = next_page(client, "/users/?q=me")
    statements.clear()
    client.get(cursor)
    deep = plans(app, statements, "EXPLAIN ")

    key = "Index Only Scan using users_name_starts_pkey"
    assert key in first["count"], first["count"]
    for plan in (first["page"], deep["page"]):
        assert key in plan, plan
        assert plan.count("Sort Key") == 1, plan  # of the 21 rows read alone
    assert "Index Cond: ((start = " in deep["page"]
    assert "ROW(name_key, user_id) > ROW(" in deep["page"]


# --- 0012: the word starts of existing members --------------------------------


def assert_word_starts_migrate_existing_members(app: Flask) -> None:
    """Upgrade members of revision 0011 to 0012, and back."""
    names = ["Katherine Johnson", "李 小龍", "Hidden Jones"]
    with app.app_context():
        upgrade(revision="0011")
        db.session.execute(
            insert(OLD_USERS),
            [
                {
                    "email": f"member{number}@example.com",
                    "name": name,
                    "name_key": name.casefold(),
                    "bio": "",
                    "password_hash": "hash",
                    "is_active": True,
                    "is_admin": False,
                    "is_listed": not name.startswith("Hidden"),
                    "email_verified_at": utcnow(),
                    "created_at": utcnow(),
                }
                for number, name in enumerate(names)
            ],
        )
        db.session.commit()

        upgrade()

        stored = dict(db.session.execute(select(User.name, User.name_starts)).all())
        assert stored == {name: name_starts(name) for name in names}
        found = list_members("jo", 20, 1000)
        assert [member.name for member in found.members] == ["Katherine Johnson"]
        assert [m.name for m in list_members("小龍", 20, 1000).members] == ["李 小龍"]
        db.session.remove()

        downgrade(revision="0011")

        columns = {column["name"] for column in inspect(db.engine).get_columns("users")}
        assert "name_starts" not in columns
        assert "users_name_starts" not in inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()


def test_word_starts_migration_fills_and_reverts_on_sqlite(empty_sqlite):
    assert_word_starts_migrate_existing_members(empty_sqlite)


@pytest.mark.postgres
def test_word_starts_migration_fills_and_reverts_on_postgres(postgres_schema):
    assert_word_starts_migrate_existing_members(postgres_schema)
