"""members read model, follows + the kernel's outbox, inbox and consumer offsets

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from services.kit.migrate import create_kit_tables

revision = "0001"
down_revision = None
SCHEMA = "connections"


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("handle", sa.Text, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "follows",
        sa.Column("follower_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("followee_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_index("ix_follows_followee_id", "follows", ["followee_id"], schema=SCHEMA)
    create_kit_tables(op, SCHEMA)


def downgrade() -> None:
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
