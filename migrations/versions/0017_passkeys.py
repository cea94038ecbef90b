"""passkeys: WebAuthn credentials, their challenges, and the account's user handle

`passkeys` holds the public half of each member's passkeys; `passkey_challenges`
the challenges handed out for a ceremony, each used once and kept at most five
minutes; `users.passkey_user_handle` the random id a passkey names its account by.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 02:00:00

"""

from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


# Not in batch mode for `users`, as in 0016: SQLite adds and drops a column itself,
# and a unique index stands in for a unique constraint it cannot add to a table.


def upgrade():
    op.add_column("users", sa.Column("passkey_user_handle", sa.LargeBinary(64)))
    op.create_index(
        "ix_users_passkey_user_handle", "users", ["passkey_user_handle"], unique=True
    )
    op.create_table(
        "passkeys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.String(255), nullable=False),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("aaguid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_passkeys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkeys_credential_id")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_passkeys_user_id", "passkeys", ["user_id"])
    op.create_table(
        "passkey_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("challenge", sa.LargeBinary(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_passkey_challenges_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["user_sessions.id"],
            name=op.f("fk_passkey_challenges_session_id_user_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey_challenges")),
        sa.UniqueConstraint("key", name=op.f("uq_passkey_challenges_key")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_passkey_challenges_created_at", "passkey_challenges", ["created_at"]
    )


def downgrade():
    op.drop_index("ix_passkey_challenges_created_at", "passkey_challenges")
    op.drop_table("passkey_challenges")
    op.drop_index("ix_passkeys_user_id", "passkeys")
    op.drop_table("passkeys")
    op.drop_index("ix_users_passkey_user_handle", "users")
    op.drop_column("users", "passkey_user_handle")
