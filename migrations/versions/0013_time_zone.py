"""time zones: the zone a member reads times in

Times were shown in UTC only. `users.time_zone` holds the IANA name of the
member's zone (NULL: UTC), set from the browser at each sign-in until the member
chooses one in the profile, which `users.time_zone_chosen` records.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 16:40:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# Not in batch mode: on SQLite that copies `users` to a new table, which drops the
# name search's triggers (migration 0005). SQLite adds and drops a column itself.


def upgrade():
    op.add_column("users", sa.Column("time_zone", sa.String(64)))
    op.add_column(
        "users",
        sa.Column(
            "time_zone_chosen",
            sa.Boolean(),
            nullable=False,
            server_default=sa.false(),
        ),
    )


def downgrade():
    op.drop_column("users", "time_zone_chosen")
    op.drop_column("users", "time_zone")
