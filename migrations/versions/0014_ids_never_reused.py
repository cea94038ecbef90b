"""ids never given twice: AUTOINCREMENT on SQLite's tables with integer ids

SQLite gives a new row the largest id in use plus one, so the id of the row deleted
last came back: a new sign-up got the deleted member's id, and an old link to the
deleted member's profile showed the newcomer. With AUTOINCREMENT SQLite keeps the
largest id ever given (in `sqlite_sequence`) and never gives one twice, as
PostgreSQL's sequences (SERIAL) already do: nothing changes there.

Every table with an integer id is rebuilt, not only those whose ids appear in
links (users, sessions, mail), because a reused id of any row misleads whatever
kept it: a log line, a security event, a mail's Message-ID. SQLite cannot add
AUTOINCREMENT to a table, so each is rebuilt with Alembic's batch mode (a new table,
the rows copied with their ids, the old one dropped), keeping columns, keys and
foreign keys. Indexes and triggers are created again from their own SQL as it
stood before, so partial indexes and the name search's triggers (0005) stay
exactly as they were, whatever an earlier migration made them.

Rebuilding `users` drops it, and SQLite runs the foreign keys' ON DELETE CASCADE
when a table is dropped: foreign keys are off during the rebuild (they can only be
switched outside a transaction) and the copied rows are checked afterwards.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:30:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Parents before children; each has an integer primary key named id.
TABLES = [
    "users",
    "user_sessions",
    "recovery_codes",
    "security_events",
    "sign_up_claims",
    "outbox_mails",
]


def rebuild(table, autoincrement):
    """Rebuild one SQLite table with or without AUTOINCREMENT, keeping its rows."""
    bind = op.get_bind()
    own_sql = bind.execute(
        sa.text(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = :table"
            " AND type IN ('index', 'trigger') AND sql IS NOT NULL"
        ),
        {"table": table},
    ).all()
    with op.batch_alter_table(
        table,
        recreate="always",
        table_kwargs={"sqlite_autoincrement": autoincrement},
    ):
        pass
    for kind, name, sql in own_sql:
        if kind == "index":
            op.execute(sa.text(f'DROP INDEX IF EXISTS "{name}"'))
        op.execute(sa.text(sql))


def switch_foreign_keys(bind, on):
    # SQLite ignores the switch inside a transaction: end the one open first
    # (Alembic runs SQLite's DDL without one transaction around it anyway).
    bind.connection.dbapi_connection.commit()
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def rebuild_all(autoincrement):
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL's SERIAL ids come from sequences, which never go back
    foreign_keys = bind.exec_driver_sql("PRAGMA foreign_keys").scalar()
    switch_foreign_keys(bind, on=False)
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "Foreign keys could not be switched off (a transaction was open): "
            "rebuilding users would delete the rows that refer to it."
        )
    try:
        for table in TABLES:
            rebuild(table, autoincrement)
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"Rows refer to rows that are gone: {broken[:5]}")
    finally:
        if foreign_keys:
            switch_foreign_keys(bind, on=True)


def upgrade():
    rebuild_all(autoincrement=True)


def downgrade():
    rebuild_all(autoincrement=False)
