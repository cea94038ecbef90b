"""languages: the language a member reads pages and mails in

`users.language` holds the code of the member's language ("de"); NULL, for the
members from before, follows the browser on pages and mails them in English.
`sign_up_claims.language` is the language of the page a sign-up was made on, for
its mails and for the account it becomes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 23:20:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


# Not in batch mode for `users`: on SQLite that copies the table, which drops the
# name search's triggers (migration 0005). SQLite adds and drops a column itself.


def upgrade():
    op.add_column("users", sa.Column("language", sa.String(16)))
    op.add_column(
        "sign_up_claims",
        sa.Column("language", sa.String(16), nullable=False, server_default="en"),
    )


def downgrade():
    op.drop_column("sign_up_claims", "language")
    op.drop_column("users", "language")
