"""posts + the kernel's outbox, inbox and consumer offsets

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from services.kit.migrate import create_kit_tables

revision = "0001"
down_revision = None
SCHEMA = "content"


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("author_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("topics", ARRAY(sa.Text), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_index("ix_posts_author_id", "posts", ["author_id", "created_at"], schema=SCHEMA)
    create_kit_tables(op, SCHEMA)


def downgrade() -> None:
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
