"""The schema comes from the migrations alone, and the database decides uniqueness."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, func, inspect, select, text

import tests.conftest as conftest
from app import create_app
from app.extensions import db
from app.models import User
from app.services import accounts
from tests.factories import PASSWORD


def build_app(database_url: str, **overrides: Any) -> Flask:
    return create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            **overrides,
        }
    )


def model_tables() -> set[str]:
    return set(db.metadata.tables)


def schema_differences() -> list[Any]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def assert_migrations_round_trip(app: Flask) -> None:
    with app.app_context():
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

        upgrade()
        assert set(inspect(db.engine).get_table_names()) == model_tables() | {
            "alembic_version"
        }
        assert schema_differences() == []

        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

        upgrade()
        assert set(inspect(db.engine).get_table_names()) >= model_tables()
        assert schema_differences() == []
        db.engine.dispose()


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> Iterator[Flask]:
    app = build_app(f"sqlite:///{tmp_path / 'empty.db'}")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_migrations_build_drop_and_rebuild_schema_on_sqlite(empty_sqlite):
    assert_migrations_round_trip(empty_sqlite)


def test_migrated_sqlite_schema_has_model_indexes_and_constraints(empty_sqlite):
    with empty_sqlite.app_context():
        upgrade()
        inspector = inspect(db.engine)
        for table in db.metadata.sorted_tables:
            expected = {index.name for index in table.indexes}
            assert expected <= {
                index["name"] for index in inspector.get_indexes(table.name)
            }
        unique = inspector.get_unique_constraints("users")
        assert [constraint["column_names"] for constraint in unique] == [["email"]]
        db.engine.dispose()


def test_migrated_schema_is_what_the_app_uses(empty_sqlite):
    with empty_sqlite.app_context():
        upgrade()
        accounts.register_user("Schema Tester", "schema@example.com", PASSWORD)
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def postgres_schema() -> Iterator[Flask]:
    """An app on a fresh, empty PostgreSQL schema of its own."""
    assert conftest.TEST_DATABASE_URL
    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    engine = create_engine(conftest.TEST_DATABASE_URL)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    app = build_app(
        conftest.TEST_DATABASE_URL,
        SQLALCHEMY_ENGINE_OPTIONS={
            "connect_args": {"options": f"-csearch_path={schema}"},
        },
    )
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.postgres
def test_migrations_build_drop_and_rebuild_schema_on_postgres(postgres_schema):
    assert_migrations_round_trip(postgres_schema)


# --- the unique e-mail, decided by the database ---------------------------------


def count_accounts(app: Flask, email: str) -> int:
    with app.app_context():
        found = db.session.scalar(
            select(func.count()).select_from(User).where(User.email == email)
        )
        db.session.remove()
    return found or 0


def test_second_sign_up_with_same_email_leaves_one_account(app, outbox):
    with app.app_context():
        accounts.register_user("First Comer", "twin@example.com", PASSWORD)
        accounts.register_user("Second Comer", " Twin@Example.com ", PASSWORD)
        db.session.remove()

    assert count_accounts(app, "twin@example.com") == 1
    with app.app_context():
        assert db.session.scalar(select(User.name)) == "First Comer"
        db.session.remove()
    assert [mail.recipient for mail in outbox()] == ["twin@example.com"] * 2


def test_sign_up_racing_a_committed_row_leaves_one_account(app, monkeypatch):
    """Another request commits the address after this one started: no 500."""
    real_flush = db.session.flush
    raced = []

    def flush_after_rival_commits(*args: Any, **kwargs: Any) -> None:
        if not raced:
            raced.append(True)
            # the rival request, on its own connection, wins the race
            with db.engine.begin() as rival:
                rival.execute(
                    User.__table__.insert().values(
                        email="race@example.com",
                        name="Rival",
                        name_key="rival",
                        bio="",
                        password_hash="x",
                        is_active=True,
                        is_admin=False,
                        is_listed=True,
                        created_at=db.func.now(),
                    )
                )
        real_flush(*args, **kwargs)

    with app.app_context():
        monkeypatch.setattr(db.session, "flush", flush_after_rival_commits)
        accounts.register_user("Late Comer", "race@example.com", PASSWORD)
        monkeypatch.undo()
        db.session.remove()

    assert raced
    assert count_accounts(app, "race@example.com") == 1


def test_concurrent_sign_ups_with_one_email_give_one_account(app):
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def sign_up(name: str) -> None:
        with app.app_context():
            try:
                start.wait(timeout=10)
                accounts.register_user(name, "together@example.com", PASSWORD)
            except BaseException as error:  # reported to the test below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign_up, args=(f"Racer {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert count_accounts(app, "together@example.com") == 1


def test_two_sign_up_forms_with_one_email_give_one_account(app, outbox):
    first = app.test_client()
    second = app.test_client()
    form = {
        "name": "Twin",
        "email": "form-twin@example.com",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    pages = [client.get("/auth/register") for client in (first, second)]

    responses = [
        client.post(
            "/auth/register", data={**form, "csrf_token": conftest.csrf_from(page)}
        )
        for client, page in zip((first, second), pages, strict=True)
    ]

    assert [response.status_code for response in responses] == [302, 302]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    assert count_accounts(app, "form-twin@example.com") == 1
    # each attempt mailed the address's owner; neither page told them apart
    assert [mail.recipient for mail in outbox()] == ["form-twin@example.com"] * 2
