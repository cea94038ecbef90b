"""throttled clients: who was refused, noted at the refusal

The admin area said who a refused client was by reading Flask-Limiter's storage
key back; the client (an IP, an IP and address, an account, a pending sign-in)
is now noted beside the key when a limit refuses it. Rows noted before hold "",
listed as a client not recognised (the list keeps one day of refusals).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:30:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("throttled_clients") as batch:
        batch.add_column(
            sa.Column(
                "client", sa.String(length=512), nullable=False, server_default=""
            )
        )


def downgrade():
    with op.batch_alter_table("throttled_clients") as batch:
        batch.drop_column("client")
