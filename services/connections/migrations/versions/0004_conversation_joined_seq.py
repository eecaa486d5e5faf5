"""conversation members: joined_seq, the last message before a member was added (they see only later ones)

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
SCHEMA = "connections"


def upgrade() -> None:
    # A member added to a group later sees the messages after this seq only (0: from the start).
    op.execute(f"ALTER TABLE {SCHEMA}.conversation_members ADD COLUMN joined_seq bigint NOT NULL DEFAULT 0")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.conversation_members DROP COLUMN joined_seq")
