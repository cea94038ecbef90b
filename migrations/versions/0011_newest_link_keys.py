"""mailed links: the key of the newest reset and e-mail change link

A reset link asked for before a newer one still worked, and so did an e-mail
change link after a newer change request (a mistyped address kept a live
takeover link). `users.reset_link_key` and `users.email_change_link_key` hold
the key the newest link of each kind carries; a newer link or a move replaces it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:40:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("reset_link_key", sa.String(32)))
        batch.add_column(sa.Column("email_change_link_key", sa.String(32)))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_change_link_key")
        batch.drop_column("reset_link_key")
