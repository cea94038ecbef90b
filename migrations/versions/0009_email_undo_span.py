"""e-mail undo: the span of moves the last undo took back

An undo link was good until the account was back at its old address. A thief
who moved an account twice kept the second move's undo link, which still worked
after the owner had taken the account back, and a used link came back to life
once the account moved again. `users.email_undo_from` and `users.email_undone_at`
hold the moves the last undo took back (from the undone move to the undo): undo
links of those moves are void.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 14:40:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_undo_from", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("email_undone_at", sa.DateTime(timezone=True)))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_undone_at")
        batch.drop_column("email_undo_from")
