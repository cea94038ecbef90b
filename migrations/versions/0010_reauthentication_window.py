"""reauthentication window: when a session last confirmed the password

Settings forms re-check the password (and, with two-factor on, a code). Once a
session confirmed them, its settings ask for nothing more for a few minutes
(REAUTHENTICATION_WINDOW). `user_sessions.confirmed_at` is when; the window
ends with the session, whose row it is on.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:50:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True)))


def downgrade():
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("confirmed_at")
