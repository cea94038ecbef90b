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
from sqlalchemy import column, create_engine, func, inspect, select, table, text

import tests.conftest as conftest
from app import create_app
from app.extensions import db
from app.models import OutboxMail, SignUpClaim, User
from app.models.base import utcnow
from app.models.user import is_name_search
from app.services import sign_up
from app.services.directory import list_members
from app.services.security_log import ClientInfo
from tests.factories import PASSWORD

# users as revisions before 0013 have it: the model's table would insert columns
# (name_starts) that those revisions do not have yet.
OLD_USERS = table(
    "users",
    *map(
        column,
        [
            "email",
            "name",
            "name_key",
            "bio",
            "password_hash",
            "is_active",
            "is_admin",
            "is_listed",
            "email_verified_at",
            "created_at",
        ],
    ),
)


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


def table_names() -> set[str]:
    """The database's tables, but the name search's FTS5 table and its shadows.

    SQLite's name search is an FTS5 virtual table made by migration 0005, which
    SQLAlchemy cannot declare: the models leave it out (app/models/user.py), and so
    does the comparison. tests/test_directory_search.py checks it is there.
    """
    return {
        name
        for name in inspect(db.engine).get_table_names()
        if not is_name_search(name)
    }


def _not_name_search(
    object_: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not is_name_search(name)


def schema_differences() -> list[Any]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            # as migrations/env.py: the name search's index is per database, by hand
            opts={"compare_type": True, "include_object": _not_name_search},
        )
        return compare_metadata(context, db.metadata)


def assert_migrations_round_trip(app: Flask) -> None:
    with app.app_context():
        assert table_names() <= {"alembic_version"}

        upgrade()
        assert table_names() == model_tables() | {"alembic_version"}
        assert schema_differences() == []

        downgrade(revision="base")
        assert table_names() <= {"alembic_version"}

        upgrade()
        assert table_names() >= model_tables()
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


def sign_up_and_confirm(name: str, email: str) -> None:
    """Sign up through the service and confirm the mailed link, in one app context."""
    sign_up.register_user(name, email, PASSWORD, browser_key="this browser")
    mail = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc())).first()
    assert mail is not None
    token = conftest.link_in(mail.body).rsplit("/", 1)[1]
    sign_up.confirm_sign_up(
        token, 3600, browser_key="this browser", password="", client=ClientInfo()
    )


def test_migrated_schema_is_what_the_app_uses(empty_sqlite):
    with empty_sqlite.app_context():
        upgrade()
        sign_up_and_confirm("Schema Tester", "schema@example.com")
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
        db.session.remove()
        db.engine.dispose()


def test_upgrade_moves_unverified_accounts_to_claims_and_canonicalises_addresses(
    empty_sqlite,
):
    users = text(
        "INSERT INTO users (email, name, name_key, bio, password_hash, is_active,"
        " is_admin, is_listed, email_verified_at, created_at) VALUES (:email, :name,"
        " :name, '', 'hash', 1, 0, 1, :verified, '2030-01-01 00:00:00')"
    )
    with empty_sqlite.app_context():
        upgrade(revision="0001")
        for email, verified in [
            ("Ada@Example.COM", "2030-01-02 00:00:00"),
            ("ada@example.com", None),  # an unverified claim on Ada's address
            ("b@\uff45xample.com", "2030-01-02 00:00:00"),  # a fullwidth e
            ("Una@Example.com", None),
        ]:
            db.session.execute(
                users, {"email": email, "name": email[:3], "verified": verified}
            )
        db.session.commit()

        upgrade()

        emails = sorted(db.session.scalars(select(User.email)))
        claims = sorted(db.session.scalars(select(SignUpClaim.email)))
        db.session.remove()
        db.engine.dispose()
    assert emails == ["ada@example.com", "b@example.com"]
    assert claims == ["ada@example.com", "una@example.com"]


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


def confirm_link(app: Flask, mail: OutboxMail, browser_key: str) -> None:
    token = conftest.link_in(mail.body).rsplit("/", 1)[1]
    sign_up.confirm_sign_up(
        token, 3600, browser_key=browser_key, password="", client=ClientInfo()
    )


def test_second_confirmed_sign_up_for_one_email_leaves_one_account(app, outbox):
    with app.app_context():
        sign_up.register_user(
            "First Comer", "twin@example.com", PASSWORD, browser_key="1"
        )
        sign_up.register_user(
            "Second Comer", " Twin@Example.com ", PASSWORD, browser_key="2"
        )
        first, second = outbox()
        confirm_link(app, first, "1")
        with pytest.raises(sign_up.AlreadyVerified):
            confirm_link(app, second, "2")
        db.session.remove()

    assert count_accounts(app, "twin@example.com") == 1
    with app.app_context():
        assert db.session.scalar(select(User.name)) == "First Comer"
        db.session.remove()


def test_confirm_racing_a_committed_row_leaves_one_account(app, outbox, monkeypatch):
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
        sign_up.register_user(
            "Late Comer", "race@example.com", PASSWORD, browser_key="k"
        )
        [mail] = outbox()
        monkeypatch.setattr(db.session, "flush", flush_after_rival_commits)
        with pytest.raises(sign_up.AlreadyVerified):
            confirm_link(app, mail, "k")
        monkeypatch.undo()
        db.session.remove()

    assert raced
    assert count_accounts(app, "race@example.com") == 1


def test_concurrent_confirms_for_one_email_give_one_account(app, outbox):
    with app.app_context():
        for n in (1, 2):
            sign_up.register_user(
                f"Racer {n}", "together@example.com", PASSWORD, browser_key=str(n)
            )
        db.session.remove()
    mails = outbox()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def confirm(n: int) -> None:
        with app.app_context():
            try:
                start.wait(timeout=10)
                confirm_link(app, mails[n - 1], str(n))
            except sign_up.AlreadyVerified:
                pass  # the other confirm won: the answer a browser gets
            except BaseException as error:  # reported to the test below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm, args=(n,)) for n in (1, 2)]
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
    first_mail, second_mail = outbox()
    conftest.submit(second, conftest.link_in(second_mail.body), {})
    too_late = first.get(conftest.link_in(first_mail.body), follow_redirects=True)
    assert "already verified" in too_late.get_data(as_text=True)
    assert count_accounts(app, "form-twin@example.com") == 1
    # each attempt mailed the address's owner; neither page told them apart
    assert [mail.recipient for mail in outbox()] == ["form-twin@example.com"] * 2


# --- 0005: accent-free name keys and the trigram index, on existing members ------


def assert_name_search_migrates_existing_members(app: Flask) -> None:
    """Upgrade a database of a few thousand members to 0005, and back."""
    names = [f"Zoë Member {number}" for number in range(2000)]
    names += [f"Hidden Zoë {number}" for number in range(500)]
    with app.app_context():
        upgrade(revision="0004")
        db.session.execute(
            OLD_USERS.insert(),
            [
                {
                    "email": f"member{number}@example.com",
                    "name": name,
                    "name_key": name.casefold(),  # the key as it was before 0005
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

        keys = set(db.session.scalars(select(User.name_key)))
        assert keys == {name.replace("Zoë", "Zoe").casefold() for name in names}
        found = list_members("zoe member 12", 20, 1000)  # few: the trigram index
        assert found.total == 111  # 12, 120-129, 1200-1299
        assert [member.name for member in found.members][:2] == [
            "Zoë Member 12",
            "Zoë Member 120",
        ]
        assert list_members("hidden", 20, 1000).total == 0
        db.session.remove()

        downgrade(revision="0004")

        assert set(db.session.scalars(select(User.name_key))) == {
            name.casefold() for name in names
        }
        assert not any(
            is_name_search(name) for name in inspect(db.engine).get_table_names()
        )
        db.session.remove()
        db.engine.dispose()


def test_name_search_migration_backfills_and_reverts_on_sqlite(empty_sqlite):
    assert_name_search_migrates_existing_members(empty_sqlite)


@pytest.mark.postgres
def test_name_search_migration_backfills_and_reverts_on_postgres(postgres_schema):
    assert_name_search_migrates_existing_members(postgres_schema)


# --- 0007: letters Unicode does not split fold in name keys ----------------------


def assert_letter_folds_migrate_existing_members(app: Flask) -> None:
    """Upgrade members whose keys kept "ł", "ø" and "ð" to 0007, and back."""
    names = {"Łukasz Nowak": "łukasz nowak", "Søren K": "søren k", "Ada": "ada"}
    with app.app_context():
        upgrade(revision="0006")
        db.session.execute(
            OLD_USERS.insert(),
            [
                {
                    "email": f"member{number}@example.com",
                    "name": name,
                    "name_key": key,  # the key as 0005 made it
                    "bio": "",
                    "password_hash": "hash",
                    "is_active": True,
                    "is_admin": False,
                    "is_listed": True,
                    "email_verified_at": utcnow(),
                    "created_at": utcnow(),
                }
                for number, (name, key) in enumerate(names.items())
            ],
        )
        db.session.commit()

        upgrade()

        keys = set(db.session.scalars(select(User.name_key)))
        assert keys == {"lukasz nowak", "soren k", "ada"}
        found = list_members("lukasz", 20, 1000)  # the trigram index follows
        assert [member.name for member in found.members] == ["Łukasz Nowak"]
        db.session.remove()

        downgrade(revision="0006")

        assert set(db.session.scalars(select(User.name_key))) == set(names.values())
        db.session.remove()
        db.engine.dispose()


def test_letter_folds_migration_rewrites_and_reverts_on_sqlite(empty_sqlite):
    assert_letter_folds_migrate_existing_members(empty_sqlite)


@pytest.mark.postgres
def test_letter_folds_migration_rewrites_and_reverts_on_postgres(postgres_schema):
    assert_letter_folds_migrate_existing_members(postgres_schema)
