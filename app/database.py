"""How the app talks to its database: `db.session`'s class, the pooled connections."""

from __future__ import annotations

import time
from typing import Any

import flask_sqlalchemy.session
from flask import Flask, current_app, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, scoped_session

# Methods that only read: a page view, never a form's post (links show a button).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# app.extensions key: each engine's twin that runs every statement in autocommit.
AUTOCOMMIT_ENGINES = "vestibule.autocommit_engines"


class RequestSession(flask_sqlalchemy.session.Session):
    """`db.session`: on PostgreSQL, a request that only reads opens no transaction.

    psycopg sends BEGIN before a transaction's first statement and the session
    sends ROLLBACK when the request ends: two more round trips to the server for a
    page that only reads, a quarter of a signed-in page's time in-process
    (bench/README.md). A GET, HEAD or OPTIONS request writes at most one statement
    at a time (a session's last-seen time, an expired session's deletion), so it
    runs in autocommit; every other request, and all work outside a request (the
    mail sender, the CLI), keeps its transaction. SQLite is left as it is: its
    driver opens no transaction for a read. Kept for the round trips it saves, not
    for instructions, which it does not save (bench/README.md, "RequestSession").
    """

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: Engine | Connection | None = None,
        **kwargs: Any,
    ) -> Engine | Connection:
        engine = super().get_bind(mapper, clause, bind, **kwargs)
        if has_request_context() and request.method in SAFE_METHODS:
            autocommit: dict[Engine | Connection, Engine] = current_app.extensions.get(
                AUTOCOMMIT_ENGINES, {}
            )
            return autocommit.get(engine, engine)
        return engine


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
    """Tune SQLite's connections; test a server's idle ones before use.

    On PostgreSQL also gives the engine its autocommit twin, for RequestSession.
    """
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
        return
    ping_after_idle(engine, app.config["DATABASE_PING_AFTER_IDLE"])
    if engine.dialect.name == "postgresql":
        # Shares the engine's pool; psycopg switches autocommit without a round trip.
        twin = engine.execution_options(isolation_level="AUTOCOMMIT")
        app.extensions.setdefault(AUTOCOMMIT_ENGINES, {})[engine] = twin


def dispose_pools_after_fork(app: Flask, db: SQLAlchemy) -> None:
    """Forget, without closing, the pooled connections a forked process inherited.

    A connection used by two processes mixes their conversations with the server,
    and closing it in the child would close the parent's too; each engine gets a
    new, empty pool instead, as SQLAlchemy advises for os.fork().
    """
    with app.app_context():
        engines = list(db.engines.values())
    # The autocommit twins share their engine's pool today: disposing them as well
    # keeps this right should one ever get a pool of its own.
    engines += app.extensions.get(AUTOCOMMIT_ENGINES, {}).values()
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
