"""targets read model, ballots, tallies + the kernel's outbox, inbox and consumer offsets

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from services.kit.migrate import create_kit_tables

revision = "0001"
down_revision = None
SCHEMA = "voting"


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("target_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("author_id", UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "ballots",
        sa.Column("voter_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("target_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("value", sa.SmallInteger, nullable=False),
        sa.Column("vote_id", UUID(as_uuid=True), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "tallies",
        sa.Column("target_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("ups", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("downs", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    create_kit_tables(op, SCHEMA)


def downgrade() -> None:
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
