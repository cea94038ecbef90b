"""sign-up claims, sign-in lockouts, canonical e-mail addresses

Until an address is verified nobody holds it: sign-ups wait as claims, and the
unverified accounts of before move there. Every address is stored in one
canonical form. Failed sign-ins are counted per address in a table an admin can
read.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 07:30:00

"""

import logging
import secrets
import unicodedata

from alembic import op
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def canonical(email):
    # Frozen copy of app.services.email_address.normalize_email as of this revision.
    text = unicodedata.normalize("NFKC", email.strip())
    try:
        address = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return text.lower()
    local_part = unicodedata.normalize("NFKC", address.local_part).lower()
    return f"{local_part}@{address.ascii_domain.lower()}"


def upgrade():
    claims = op.create_table(
        "sign_up_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("link_key", sa.String(length=32), nullable=False),
        sa.Column("browser_key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_up_claims")),
    )
    with op.batch_alter_table("sign_up_claims", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sign_up_claims_email_time", ["email", "created_at"], unique=False
        )
    op.create_table(
        "sign_in_lockouts",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_notified", sa.Boolean(), nullable=False),
        sa.Column("unlock_key", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_sign_in_lockouts")),
    )

    bind = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("email", sa.String),
        sa.column("name", sa.String),
        sa.column("password_hash", sa.String),
        sa.column("email_verified_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    # An unverified account held its address for whoever signed up first: it
    # becomes a claim like any other sign-up, and its old link stops working.
    unverified = bind.execute(
        sa.select(users).where(users.c.email_verified_at.is_(None))
    ).all()
    if unverified:
        op.bulk_insert(
            claims,
            [
                {
                    "email": canonical(row.email),
                    "name": row.name,
                    "password_hash": row.password_hash,
                    "link_key": secrets.token_hex(16),
                    "browser_key_hash": "",
                    "created_at": row.created_at,
                }
                for row in unverified
            ],
        )
        ids = [row.id for row in unverified]
        for table in ("security_events", "user_sessions"):
            dependants = sa.table(table, sa.column("user_id", sa.Integer))
            bind.execute(sa.delete(dependants).where(dependants.c.user_id.in_(ids)))
        bind.execute(sa.delete(users).where(users.c.id.in_(ids)))

    # One canonical spelling per mailbox. Where two accounts were two spellings of
    # one address, the one already spelled canonically (else the older) keeps it,
    # and the other is left as it was for an operator to resolve: it cannot sign
    # in until then. A canonical form is its own canonical form, so no rename
    # below can collide with an address left as it was.
    groups = {}
    for row in bind.execute(sa.select(users.c.id, users.c.email).order_by(users.c.id)):
        groups.setdefault(canonical(row.email), []).append(row)
    for email, rows in groups.items():
        keeper = next((row for row in rows if row.email == email), rows[0])
        for row in rows:
            if row is not keeper:
                log.warning(
                    "account %s: its address is another spelling of account %s's; "
                    "left unchanged",
                    row.id,
                    keeper.id,
                )
        if keeper.email != email:
            bind.execute(
                sa.update(users).where(users.c.id == keeper.id).values(email=email)
            )


def downgrade():
    bind = op.get_bind()
    claims = sa.table(
        "sign_up_claims",
        sa.column("id", sa.Integer),
        sa.column("email", sa.String),
        sa.column("name", sa.String),
        sa.column("password_hash", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    users = sa.table(
        "users",
        sa.column("email", sa.String),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
        sa.column("bio", sa.Text),
        sa.column("password_hash", sa.String),
        sa.column("is_active", sa.Boolean),
        sa.column("is_admin", sa.Boolean),
        sa.column("is_listed", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    # The newest claim of each free address goes back to being an unverified account.
    taken = set(bind.execute(sa.select(users.c.email)).scalars())
    newest = {}
    for claim in bind.execute(sa.select(claims).order_by(claims.c.id)).all():
        if claim.email not in taken:
            newest[claim.email] = claim
    if newest:
        op.bulk_insert(
            users,
            [
                {
                    "email": claim.email,
                    "name": claim.name,
                    "name_key": claim.name.casefold()[:160],
                    "bio": "",
                    "password_hash": claim.password_hash,
                    "is_active": True,
                    "is_admin": False,
                    "is_listed": True,
                    "created_at": claim.created_at,
                }
                for claim in newest.values()
            ],
        )
    op.drop_table("sign_in_lockouts")
    with op.batch_alter_table("sign_up_claims", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_up_claims_email_time")
    op.drop_table("sign_up_claims")
