"""accounts + the kernel's outbox, inbox and consumer offsets

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from services.kit.migrate import create_kit_tables

revision = "0001"
down_revision = None
SCHEMA = "profiles"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("handle", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_index("uq_accounts_email_lower", "accounts", [sa.text("lower(email)")], unique=True, schema=SCHEMA)
    op.create_index("uq_accounts_handle_lower", "accounts", [sa.text("lower(handle)")], unique=True, schema=SCHEMA)
    create_kit_tables(op, SCHEMA)


def downgrade() -> None:
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
