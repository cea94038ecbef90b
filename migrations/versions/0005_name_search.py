"""name search: accent-free name keys, a trigram index of the listed members' names

Directory search matches any part of a name, ignoring case and accents. `name_key`
loses its accents (backfilled here), is compared by code point on PostgreSQL as on
SQLite, and gets a trigram index holding the listed members alone: a GIN index
(pg_trgm) on PostgreSQL, an FTS5 table with the `trigram` tokenizer on SQLite, kept
in step with `users` by triggers.

A batch migration that recreates `users` on SQLite drops the triggers with the old
table: such a migration must create them again (see `create_sqlite_search`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00

"""

import unicodedata

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAME_KEY_MAX = 160
BATCH = 5000
# The directory's condition (app/models/user.py, LISTED), as each database writes it.
SQLITE_LISTED = (
    "{row}is_active = 1 AND {row}is_listed = 1 AND {row}email_verified_at IS NOT NULL"
)
POSTGRES_LISTED = (
    "is_active = true AND is_listed = true AND email_verified_at IS NOT NULL"
)

users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
)


def name_key(name):
    # Frozen copy of app.models.user.name_key as of this revision.
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold()[:NAME_KEY_MAX]


def casefolded_key(name):
    # name_key as it was before this revision.
    return name.casefold()[:NAME_KEY_MAX]


def rewrite_name_keys(key):
    """Set every user's name_key to key(name), in batches of ids; only changed rows."""
    bind = op.get_bind()
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(users.c.id, users.c.name, users.c.name_key)
            .where(users.c.id > last_id)
            .order_by(users.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        changed = [
            {"row_id": row.id, "new_key": key(row.name)}
            for row in rows
            if key(row.name) != row.name_key
        ]
        if changed:
            bind.execute(
                sa.update(users)
                .where(users.c.id == sa.bindparam("row_id"))
                .values(name_key=sa.bindparam("new_key")),
                changed,
            )


def create_sqlite_search():
    # An FTS5 table of the listed members' name keys, whose rowid is the user's id.
    # `case_sensitive 1`: the keys are folded already; a phrase of trigrams then
    # matches exactly the substrings of name_key. The triggers repeat the
    # directory's condition (LISTED in app/models/user.py).
    op.execute(
        """
        CREATE VIRTUAL TABLE users_name_search
        USING fts5(name_key, tokenize = 'trigram case_sensitive 1')
        """
    )
    op.execute(
        """
        INSERT INTO users_name_search (rowid, name_key)
        SELECT id, name_key FROM users
        WHERE is_active = 1 AND is_listed = 1 AND email_verified_at IS NOT NULL
        """
    )
    op.execute(
        """
        CREATE TRIGGER users_name_search_insert AFTER INSERT ON users
        WHEN NEW.is_active = 1 AND NEW.is_listed = 1
            AND NEW.email_verified_at IS NOT NULL
        BEGIN
            INSERT INTO users_name_search (rowid, name_key)
            VALUES (NEW.id, NEW.name_key);
        END
        """
    )
    op.execute(
        """
        CREATE TRIGGER users_name_search_delete AFTER DELETE ON users
        WHEN OLD.is_active = 1 AND OLD.is_listed = 1
            AND OLD.email_verified_at IS NOT NULL
        BEGIN
            DELETE FROM users_name_search WHERE rowid = OLD.id;
        END
        """
    )
    # Only the columns the search depends on: a sign-in's last_login_at does not
    # fire it. Deleting a rowid the table does not hold is a no-op.
    op.execute(
        """
        CREATE TRIGGER users_name_search_update
        AFTER UPDATE OF name_key, is_active, is_listed, email_verified_at ON users
        BEGIN
            DELETE FROM users_name_search WHERE rowid = OLD.id;
            INSERT INTO users_name_search (rowid, name_key)
            SELECT NEW.id, NEW.name_key
            WHERE NEW.is_active = 1 AND NEW.is_listed = 1
                AND NEW.email_verified_at IS NOT NULL;
        END
        """
    )


def drop_sqlite_search():
    op.execute("DROP TRIGGER IF EXISTS users_name_search_insert")
    op.execute("DROP TRIGGER IF EXISTS users_name_search_delete")
    op.execute("DROP TRIGGER IF EXISTS users_name_search_update")
    op.execute("DROP TABLE IF EXISTS users_name_search")


def trigram_schema():
    """Return the quoted schema of pg_trgm's objects.

    An extension lives in one schema of a database, which need not be on the
    search path of every role or test: its operator class is named in full.
    """
    bind = op.get_bind()
    schema = bind.execute(
        sa.text(
            "SELECT nspname FROM pg_extension JOIN pg_namespace"
            " ON pg_namespace.oid = extnamespace WHERE extname = 'pg_trgm'"
        )
    ).scalar_one()
    return bind.dialect.identifier_preparer.quote_schema(schema)


def upgrade():
    dialect = op.get_bind().dialect.name
    rewrite_name_keys(name_key)
    if dialect == "postgresql":
        # Code-point order, as SQLite's: a prefix is then one range of the index
        # (ix_users_directory is rebuilt with the column).
        op.alter_column(
            "users",
            "name_key",
            type_=sa.String(length=NAME_KEY_MAX, collation="C"),
            existing_type=sa.String(length=NAME_KEY_MAX),
            existing_nullable=False,
        )
        # pg_trgm is a trusted extension: the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_users_name_search",
            "users",
            ["name_key"],
            postgresql_using="gin",
            postgresql_ops={"name_key": f"{trigram_schema()}.gin_trgm_ops"},
            postgresql_where=sa.text(POSTGRES_LISTED),
        )
    elif dialect == "sqlite":
        create_sqlite_search()


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.drop_index("ix_users_name_search", table_name="users")
        # The pg_trgm extension stays: it may have been there before, or be used by
        # something else in the database; it holds no data.
        op.alter_column(
            "users",
            "name_key",
            type_=sa.String(length=NAME_KEY_MAX),
            existing_type=sa.String(length=NAME_KEY_MAX, collation="C"),
            existing_nullable=False,
        )
    elif dialect == "sqlite":
        drop_sqlite_search()
    rewrite_name_keys(casefolded_key)
