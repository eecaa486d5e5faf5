"""the trusted score is fractional

Revision ID: 0003
Revises: 0002

Voting's trusted score is Σ value × weight with weights in multiples of 1/64 (a new account's vote
counts 0.5), so `tally.updated` carries a float. The copy on posts and comments keeps it exactly;
`rank_score` (what the feeds sort by) stays the integer it was, rounded.
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    for table in ("posts", "comments"):
        op.execute(f"ALTER TABLE content.{table} ALTER COLUMN trusted_score TYPE double precision")


def downgrade() -> None:
    for table in ("posts", "comments"):
        op.execute(f"ALTER TABLE content.{table} ALTER COLUMN trusted_score TYPE integer USING round(trusted_score)")
