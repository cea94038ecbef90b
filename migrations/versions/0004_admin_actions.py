"""admin actions in the security log: the acting admin of an event

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:40:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_security_events_actor_id_users"),
            "users",
            ["actor_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_security_events_actor_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("actor_id")
