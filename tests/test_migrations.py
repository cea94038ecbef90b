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
from sqlalchemy import (
    MetaData,
    column,
    create_engine,
    func,
    inspect,
    select,
    table,
    text,
)

import tests.conftest as conftest
from app import create_app
from app.extensions import db
from app.models import OutboxMail, SignUpClaim, User, UserSession
from app.models.base import utcnow
from app.models.user import is_name_search
from app.services import account_data, accounts, sign_up
from app.services.directory import list_members
from app.services.passwords import hash_password
from app.services.security_log import ClientInfo
from tests.factories import PASSWORD

# users as revisions before 0012 have it: the model's table would insert columns
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
    sign_up.register_user(
        name, email, PASSWORD, browser_key="this browser", language="en"
    )
    mail = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc())).first()
    assert mail is not None
    token = conftest.link_in(mail.body).rsplit("/", 1)[1]
    sign_up.confirm_sign_up(
        token, browser_key="this browser", password="", client=ClientInfo()
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
        token, browser_key=browser_key, password="", client=ClientInfo()
    )


def test_second_confirmed_sign_up_for_one_email_leaves_one_account(app, outbox):
    with app.app_context():
        sign_up.register_user(
            "First Comer", "twin@example.com", PASSWORD, browser_key="1", language="en"
        )
        sign_up.register_user(
            "Second Comer",
            " Twin@Example.com ",
            PASSWORD,
            browser_key="2",
            language="en",
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
            "Late Comer", "race@example.com", PASSWORD, browser_key="k", language="en"
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
                f"Racer {n}",
                "together@example.com",
                PASSWORD,
                browser_key=str(n),
                language="en",
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


# --- ids are never given twice (0014) --------------------------------------------

ID_TABLES = [
    "users",
    "user_sessions",
    "recovery_codes",
    "security_events",
    "sign_up_claims",
    "outbox_mails",
]


def id_of(email: str) -> int:
    user_id = db.session.scalar(select(User.id).where(User.email == email))
    assert user_id is not None
    return user_id


def assert_a_new_member_gets_a_new_id(app: Flask) -> None:
    with app.app_context():
        upgrade()
        sign_up_and_confirm("Old Member", "old@example.com")
        sign_up_and_confirm("Newest Member", "newest@example.com")
        deleted = id_of("newest@example.com")
        account_data.delete_account(deleted, PASSWORD, "", ClientInfo())
        db.session.remove()

        sign_up_and_confirm("Newcomer", "newcomer@example.com")

        assert id_of("newcomer@example.com") > deleted
        if db.engine.dialect.name == "postgresql":  # every id from a sequence
            for table in ID_TABLES:
                sequence = db.session.scalar(
                    text("SELECT pg_get_serial_sequence(:table, 'id')"),
                    {"table": table},
                )
                assert sequence is not None, table


# --- 0013: the member's time zone ---------------------------------------------------


def assert_time_zone_migration_keeps_members_and_their_search(app: Flask) -> None:
    """Upgrade with a member to 0013 and back: both ways the name search still works."""
    with app.app_context():
        upgrade(revision="0012")
        db.session.execute(
            User.__table__.insert(),
            {
                "email": "dorothy@example.com",
                "name": "Dorothy Vaughan",
                "name_key": "dorothy vaughan",
                "bio": "",
                "password_hash": "hash",
                "is_active": True,
                "is_admin": False,
                "is_listed": True,
                "email_verified_at": utcnow(),
                "created_at": utcnow(),
            },
        )
        db.session.commit()
        upgrade()
        member = db.session.scalars(select(User)).one()
        assert (member.time_zone, member.time_zone_chosen) == (None, False)
        db.session.remove()
        downgrade(revision="0012")
        upgrade()

        accounts.update_profile(
            member.id, name="Katherine Johnson", bio="", is_listed=True
        )

        found = list_members("katherine", 20, 1000)
        assert [found_member.id for found_member in found.members] == [member.id]
        assert list_members("dorothy", 20, 1000).total == 0
        db.session.remove()
        db.engine.dispose()


def test_a_new_member_never_gets_the_id_of_a_deleted_one_on_sqlite(empty_sqlite):
    # Before 0014 SQLite gave the newcomer the id just freed: an old link to the
    # deleted member's profile (/members/<id>) showed the newcomer.
    assert_a_new_member_gets_a_new_id(empty_sqlite)


@pytest.mark.postgres
def test_a_new_member_never_gets_the_id_of_a_deleted_one_on_postgres(
    postgres_schema,
):
    assert_a_new_member_gets_a_new_id(postgres_schema)


def all_rows(
    columns: dict[str, list[str]] | None = None,
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each id table, as the database holds it now.

    Read through the schema itself, not the models: a database at an older revision
    lacks their newer columns. Only `columns` of each table, when given (a snapshot's,
    from `columns_now`).
    """
    schema = MetaData()
    schema.reflect(db.engine, only=ID_TABLES)
    with db.engine.connect() as connection:
        return {
            name: sorted(
                map(
                    tuple,
                    connection.execute(
                        select(
                            *(
                                schema.tables[name].c[column]
                                for column in (columns or {}).get(
                                    name, schema.tables[name].c.keys()
                                )
                            )
                        )
                    ),
                ),
                key=repr,
            )
            for name in ID_TABLES
        }


def columns_now() -> dict[str, list[str]]:
    """The columns of each id table the database has now."""
    inspector = inspect(db.engine)
    return {
        name: [column["name"] for column in inspector.get_columns(name)]
        for name in ID_TABLES
    }


def seed_at_0013() -> None:
    """Ada and Bob, listed; a session of Bob's; Una's sign-up waiting for its link.

    Written with the tables' own inserts and only the columns 0013 has: the
    services would write the models' newer ones too (the languages of 0016).
    """
    now = utcnow()
    for name, email in (
        ("Ada Listed", "ada@example.com"),
        ("Bob Listed", "bob@example.com"),
    ):
        db.session.execute(
            User.__table__.insert(),
            {
                "email": email,
                "name": name,
                "name_key": name.casefold(),
                "bio": "",
                "password_hash": hash_password(PASSWORD),
                "is_active": True,
                "is_admin": False,
                "is_listed": True,
                "email_verified_at": now,
                "created_at": now,
            },
        )
    db.session.execute(
        SignUpClaim.__table__.insert(),
        {
            "email": "una@example.com",
            "name": "Una Waiting",
            "password_hash": hash_password(PASSWORD),
            "link_key": "k" * 32,
            "browser_key_hash": "",
            "created_at": now,
        },
    )
    db.session.commit()


def sqlite_schema() -> dict[str, str]:
    """Each table's, index's and trigger's SQL, by name (SQLite's own indexes too)."""
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT type, name, tbl_name, sql FROM sqlite_master")
        ).all()
    return {f"{kind} {name} on {table}": sql or "" for kind, name, table, sql in rows}


def foreign_keys() -> dict[str, list[tuple[Any, ...]]]:
    """Each table's foreign keys: columns, referred table, ON UPDATE / ON DELETE."""
    with db.engine.connect() as connection:
        return {
            table: sorted(
                tuple(row)[2:]  # leaving out the key's number, which may change
                for row in connection.exec_driver_sql(
                    f"PRAGMA foreign_key_list({table})"
                )
            )
            for table in ID_TABLES
        }


def test_0014_keeps_rows_indexes_triggers_and_foreign_keys_and_reverts(empty_sqlite):
    with empty_sqlite.app_context():
        upgrade(revision="0013")
        seed_at_0013()
        bob = id_of("bob@example.com")
        db.session.add(
            UserSession(token_hash="h" * 64, user_id=bob, expires_at=utcnow())
        )
        db.session.commit()
        db.session.remove()
        rows, schema, references = all_rows(), sqlite_schema(), foreign_keys()
        columns = columns_now()

        upgrade(revision="0014")

        upgraded = sqlite_schema()
        assert all_rows(columns) == rows
        for table in ID_TABLES:
            assert "AUTOINCREMENT" in upgraded[f"table {table} on {table}"]
        assert {name for name in upgraded} == {name for name in schema} | {
            "table sqlite_sequence on sqlite_sequence"
        }
        assert {k: v for k, v in upgraded.items() if not k.startswith("table")} == {
            k: v for k, v in schema.items() if not k.startswith("table")
        }
        assert foreign_keys() == references
        upgrade()  # the later migrations, to the models' schema
        assert schema_differences() == []
        # the name search's triggers and the foreign keys' cascades still work
        assert list_members("listed", 20, 1000).total == 2
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
        account_data.delete_account(bob, PASSWORD, "", ClientInfo())
        assert list_members("listed", 20, 1000).total == 1
        left = db.session.scalar(
            text("SELECT count(*) FROM user_sessions WHERE user_id = :id"),
            {"id": bob},
        )
        assert left == 0
        db.session.remove()
        rows = all_rows(columns)

        downgrade(revision="0013")

        assert all_rows() == rows
        assert foreign_keys() == references
        downgraded = sqlite_schema()
        assert not any("AUTOINCREMENT" in sql for sql in downgraded.values())
        assert {k: v for k, v in downgraded.items() if not k.startswith("table")} == {
            k: v for k, v in schema.items() if not k.startswith("table")
        }
        db.engine.dispose()


def test_time_zone_migration_keeps_the_name_search_on_sqlite(empty_sqlite):
    assert_time_zone_migration_keeps_members_and_their_search(empty_sqlite)


@pytest.mark.postgres
def test_time_zone_migration_keeps_the_name_search_on_postgres(postgres_schema):
    assert_time_zone_migration_keeps_members_and_their_search(postgres_schema)
