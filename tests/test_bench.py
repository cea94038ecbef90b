"""The benchmark empties only a database of its own, never one with accounts in it."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, func, inspect, make_url, select, text

from app.extensions import db
from app.models import User
from tests.conftest import TEST_DATABASE_URL


def _load_bench() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "bench" / "run.py"
    spec = importlib.util.spec_from_file_location("bench_run", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def _objects(engine: Engine) -> set[str]:
    found = inspect(engine)
    return set(found.get_table_names()) | set(found.get_view_names())


def test_the_benchmark_refuses_a_database_with_accounts(app: Flask, make_user):
    make_user(email="keep@example.com")

    with app.app_context():
        with pytest.raises(SystemExit, match="tables the benchmark did not make"):
            bench.claim_database(db.engine)
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_the_benchmark_empties_a_database_it_marked(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'bench.db'}")
    bench.claim_database(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY)"))
        connection.execute(text("CREATE VIEW listed AS SELECT id FROM users"))

    bench.claim_database(engine)

    assert _objects(engine) == {bench.BENCH_MARK}
    engine.dispose()


@pytest.fixture
def scratch_postgres() -> Iterator[Engine]:
    """A PostgreSQL database of the test's own, dropped afterwards."""
    assert TEST_DATABASE_URL is not None
    name = f"vestibule_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(TEST_DATABASE_URL).set(database=name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}"'))
    admin.dispose()


@pytest.mark.postgres
def test_the_benchmark_empties_a_postgres_database_it_marked(scratch_postgres):
    bench.claim_database(scratch_postgres)
    with scratch_postgres.begin() as connection:
        connection.execute(text("CREATE TABLE users (id SERIAL PRIMARY KEY)"))

    bench.claim_database(scratch_postgres)

    assert _objects(scratch_postgres) == {bench.BENCH_MARK}


@pytest.mark.postgres
def test_the_benchmark_says_when_its_database_does_not_exist():
    assert TEST_DATABASE_URL is not None
    missing = make_url(TEST_DATABASE_URL).set(database=f"absent_{uuid.uuid4().hex}")

    with pytest.raises(
        SystemExit, match=r"(?s)cannot open .*does not exist.*createdb bench"
    ):
        bench.claim_database(create_engine(missing))
