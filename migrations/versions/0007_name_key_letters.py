"""name keys: letters Unicode does not split, folded too ("lukasz" finds "Łukasz")

`name_key` (directory search and order) dropped accents by compatibility
decomposition, which leaves letters such as "ł", "ø" or "æ" whole: "lukasz" did
not find "Łukasz", who was listed after "Zoë". They now fold to their base letters
("l", "o", "ae"); this rewrites the keys of the names that hold one. The search
indexes follow the column: PostgreSQL's by itself, SQLite's by its triggers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:40:00

"""

import unicodedata

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME_KEY_MAX = 160
BATCH = 5000
# Frozen copy of app.models.user.LETTER_FOLDS as of this revision.
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

users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
)


def accent_free_key(name):
    # name_key as revision 0005 made it.
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold()[:NAME_KEY_MAX]


def name_key(name):
    # Frozen copy of app.models.user.name_key as of this revision.
    return accent_free_key(name).translate(LETTER_FOLDS)[:NAME_KEY_MAX]


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


def upgrade():
    rewrite_name_keys(name_key)


def downgrade():
    rewrite_name_keys(accent_free_key)
