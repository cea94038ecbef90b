"""name word starts: one- and two-letter searches match the start of any word

A query of one or two characters matched the start of the whole name: "jo" missed
"Katherine Johnson" and "小龍" missed "李 小龍". Each user now carries `name_starts`,
the first one and two characters of every word of the name key (every character of
a script written without spaces starts one), and `users_name_starts` holds one row
(start, name_key, user_id) per start of each listed member, keyed in that order: a
short search is one range of its key, already in the directory's order. Triggers
keep it in step with `users`, as the FTS5 table of revision 0005 is on SQLite.

A batch migration that recreates `users` on SQLite drops the triggers with the old
table: such a migration must create them again (see `create_triggers`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:30:00

"""

import unicodedata

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NAME_KEY_MAX = 160
BATCH = 5000
# Frozen copies of app.models.user's LETTER_FOLDS and SPACELESS as of this revision.
LETTER_FOLDS = str.maketrans(
    {
        "æ": "ae",
        "ð": "d",
        "đ": "d",
        "ħ": "h",
        "\u0131": "i",  # dotless i
        "ł": "l",
        "ø": "o",
        "œ": "oe",
        "ŧ": "t",
        "þ": "th",
    }
)
SPACELESS = (
    (0x0E00, 0x0FFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x3005, 0x3007),
    (0x3040, 0x312F),
    (0x31A0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)

users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_starts", sa.JSON),
)


def name_key(name):
    # Frozen copy of app.models.user.name_key as of this revision.
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold().translate(LETTER_FOLDS)[:NAME_KEY_MAX]


def spaceless(ch):
    point = ord(ch)
    return any(first <= point <= last for first, last in SPACELESS)


def name_starts(name):
    # Frozen copy of app.models.user.name_starts as of this revision.
    key = name_key(name)
    starts = set()
    for place, ch in enumerate(key):
        before = key[place - 1] if place else ""
        if (
            place == 0
            or spaceless(ch)
            or (ch.isalnum() and (not before.isalnum() or spaceless(before)))
        ):
            starts.update(key[place : place + size] for size in (1, 2))
    return sorted(starts)


def fill_name_starts():
    """Set every user's name_starts, in batches of ids."""
    bind = op.get_bind()
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(users.c.id, users.c.name)
            .where(users.c.id > last_id)
            .order_by(users.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        bind.execute(
            sa.update(users)
            .where(users.c.id == sa.bindparam("row_id"))
            .values(name_starts=sa.bindparam("starts", type_=sa.JSON)),
            [{"row_id": row.id, "starts": name_starts(row.name)} for row in rows],
        )


# One row per start of a listed member: the statements below repeat the directory's
# condition (LISTED in app/models/user.py), and fire on the columns the starts depend
# on alone (a sign-in's last_login_at fires nothing). A row is removed by its whole
# key, one entry per start: no second index, by user, is needed.
SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER users_name_starts_insert AFTER INSERT ON users
    WHEN NEW.is_active = 1 AND NEW.is_listed = 1 AND NEW.email_verified_at IS NOT NULL
    BEGIN
        INSERT OR IGNORE INTO users_name_starts (start, name_key, user_id)
        SELECT value, NEW.name_key, NEW.id FROM json_each(NEW.name_starts);
    END
    """,
    """
    CREATE TRIGGER users_name_starts_delete AFTER DELETE ON users
    WHEN OLD.is_active = 1 AND OLD.is_listed = 1 AND OLD.email_verified_at IS NOT NULL
    BEGIN
        DELETE FROM users_name_starts
        WHERE start IN (SELECT value FROM json_each(OLD.name_starts))
            AND name_key = OLD.name_key AND user_id = OLD.id;
    END
    """,
    """
    CREATE TRIGGER users_name_starts_update
    AFTER UPDATE OF name_key, name_starts, is_active, is_listed, email_verified_at
    ON users
    BEGIN
        DELETE FROM users_name_starts
        WHERE start IN (SELECT value FROM json_each(OLD.name_starts))
            AND name_key = OLD.name_key AND user_id = OLD.id;
        INSERT OR IGNORE INTO users_name_starts (start, name_key, user_id)
        SELECT value, NEW.name_key, NEW.id FROM json_each(NEW.name_starts)
        WHERE NEW.is_active = 1 AND NEW.is_listed = 1
            AND NEW.email_verified_at IS NOT NULL;
    END
    """,
)
POSTGRES_TRIGGERS = (
    """
    CREATE FUNCTION users_name_starts_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            DELETE FROM users_name_starts
            WHERE start IN (SELECT json_array_elements_text(OLD.name_starts))
                AND name_key = OLD.name_key AND user_id = OLD.id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.is_active AND NEW.is_listed
            AND NEW.email_verified_at IS NOT NULL
        THEN
            INSERT INTO users_name_starts (start, name_key, user_id)
            SELECT DISTINCT value, NEW.name_key, NEW.id
            FROM json_array_elements_text(NEW.name_starts) AS value;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER users_name_starts_sync
    AFTER INSERT OR DELETE
        OR UPDATE OF name_key, name_starts, is_active, is_listed, email_verified_at
    ON users FOR EACH ROW EXECUTE FUNCTION users_name_starts_sync()
    """,
    # TRUNCATE fires no row trigger: emptying users empties the starts with it.
    """
    CREATE FUNCTION users_name_starts_empty() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE users_name_starts;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER users_name_starts_empty AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION users_name_starts_empty()
    """,
)
FILL = {
    "sqlite": """
        INSERT INTO users_name_starts (start, name_key, user_id)
        SELECT DISTINCT value, users.name_key, users.id
        FROM users, json_each(users.name_starts)
        WHERE users.is_active = 1 AND users.is_listed = 1
            AND users.email_verified_at IS NOT NULL
    """,
    "postgresql": """
        INSERT INTO users_name_starts (start, name_key, user_id)
        SELECT DISTINCT value, users.name_key, users.id
        FROM users, json_array_elements_text(users.name_starts) AS value
        WHERE users.is_active AND users.is_listed
            AND users.email_verified_at IS NOT NULL
    """,
}


def create_triggers(dialect):
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def drop_triggers(dialect):
    if dialect == "sqlite":
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS users_name_starts_{event}")
        return
    for name in ("sync", "empty"):
        op.execute(f"DROP TRIGGER IF EXISTS users_name_starts_{name} ON users")
        op.execute(f"DROP FUNCTION IF EXISTS users_name_starts_{name}()")


def upgrade():
    dialect = op.get_bind().dialect.name
    op.add_column(
        "users",
        sa.Column("name_starts", sa.JSON(), nullable=False, server_default="[]"),
    )
    fill_name_starts()
    key = sa.String(NAME_KEY_MAX)
    start = sa.String(2)  # WORD_START_MAX characters at most
    if dialect == "postgresql":
        key = sa.String(NAME_KEY_MAX, collation="C")
        start = sa.String(2, collation="C")
    # Keyed by (start, name_key, user_id): a start's members in the directory's
    # order (code points, as users.name_key), read from the key alone.
    op.create_table(
        "users_name_starts",
        sa.Column("start", start, nullable=False),
        sa.Column("name_key", key, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "start", "name_key", "user_id", name="users_name_starts_pkey"
        ),
        sqlite_with_rowid=False,
    )
    op.execute(FILL[dialect])
    create_triggers(dialect)


def downgrade():
    dialect = op.get_bind().dialect.name
    drop_triggers(dialect)
    op.drop_table("users_name_starts")
    op.drop_column("users", "name_starts")
