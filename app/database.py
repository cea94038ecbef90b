"""How the app talks to its database: upserts, the pooled connections.

A page that only reads runs in a transaction like every other request: an
autocommit twin of the engine for such pages saved PostgreSQL two round trips a
page but no instructions (it cost 4 % more, bench/README.md), so it went.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, scoped_session


def upsert(
    session: Session | scoped_session[Any], model: type[Any]
) -> postgresql.Insert | sqlite.Insert:
    """Return an INSERT into `model`'s table in the dialect of `session`'s database.

    SQLAlchemy's plain insert has no ON CONFLICT; PostgreSQL's and SQLite's own
    have the same `on_conflict_do_update`, which counts a row up in one statement
    however many requests do it at once.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def configure_engine(app: Flask, engine: Engine) -> None:
    """Tune SQLite's connections; test a server's idle ones before use."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
        return
    ping_after_idle(engine, app.config["DATABASE_PING_AFTER_IDLE"])


def dispose_pools_after_fork(app: Flask) -> None:
    """Forget, without closing, the pooled connections a forked process inherited.

    A connection used by two processes mixes their conversations with the server,
    and closing it in the child would close the parent's too; each engine gets a
    new, empty pool instead, as SQLAlchemy advises for os.fork().
    """
    from app.extensions import db

    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        engine.dispose(close=False)


def _tune_sqlite(connection: Any, record: Any) -> None:
    # WAL lets the workers read while one writes, and with synchronous=NORMAL a
    # commit no longer waits for the disk twice; SQLite enforces foreign keys
    # (ON DELETE CASCADE) only when asked.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Test a pooled connection before use when it sat unused for `idle_seconds` (s).

    SQLAlchemy's pool_pre_ping tests every checkout: a round trip on every page. A
    connection in steady use needs no test: should the server drop it, the request
    that finds out gets the 503 page and SQLAlchemy replaces every connection the
    pool held, so a restart costs each worker at most that one request. An idle
    connection is where a restart or a firewall's idle cut goes unseen until a
    visitor meets it, so that one is tested first.
    """

    @event.listens_for(engine, "checkin")
    def _note_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return  # new, or in steady use
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(str(error)) from error
        if not alive:
            # The pool replaces the connection and checks out again.
            raise DisconnectionError("the database dropped an idle connection")
