"""throttled clients: the rate limits' refusals, for the admin area to list and clear

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:45:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "throttled_clients",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("rate_limit", sa.String(length=60), nullable=False),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.Column("last_refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttled_clients")),
    )


def downgrade():
    op.drop_table("throttled_clients")
