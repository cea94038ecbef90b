"""The connection that page reads run on: one per request, outside the ORM session.

The pages everyone views (the session lookup, the directory, profiles) only read,
with prebuilt Core statements. They share one pooled connection per request in
autocommit, so a read costs one round trip to the database: no ORM transaction to
open, and on PostgreSQL no BEGIN and ROLLBACK around it, which tripled its cost.
Writes stay in `db.session`, in one transaction per use case.
"""

from __future__ import annotations

from flask import g
from sqlalchemy import Connection

from app.extensions import db


def read_connection() -> Connection:
    """Return this request's connection for reads, opening it on first use."""
    connection: Connection | None = g.get("read_connection")
    if connection is None:
        connection = db.engine.connect()
        # SQLite's driver opens no transaction for a read, and switching it to
        # autocommit and back costs a statement each way.
        if connection.dialect.name != "sqlite":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        g.read_connection = connection
    return connection


def close_read_connection(_error: BaseException | None = None) -> None:
    """Give the request's read connection back to the pool."""
    connection: Connection | None = g.pop("read_connection", None)
    if connection is not None:
        connection.close()
