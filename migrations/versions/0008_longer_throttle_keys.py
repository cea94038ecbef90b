"""throttled clients: keys up to 512 characters

A rate-limit key holds the client's IP and, for the per-address limits, the
address typed: with an IPv6 address and a long e-mail address it passed 255
characters, was stored cut, and clearing it in the admin area emptied nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 14:30:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("throttled_clients") as batch:
        batch.alter_column(
            "key", type_=sa.String(length=512), existing_type=sa.String(length=255)
        )


def downgrade():
    # Keys longer than 255 would not fit: the list holds one day of refusals.
    op.execute("DELETE FROM throttled_clients WHERE length(key) > 255")
    with op.batch_alter_table("throttled_clients") as batch:
        batch.alter_column(
            "key", type_=sa.String(length=255), existing_type=sa.String(length=512)
        )
