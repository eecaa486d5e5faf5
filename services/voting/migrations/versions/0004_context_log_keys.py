"""context_log: ordered by seq alone; rows name what they are about, so superseded rows can be compacted

Revision ID: 0004
Revises: 0003

- Order: writers now take a transaction-level advisory lock before appending (services/voting/handlers.py),
  so seqs are committed in order and readers read `seq > last`. The (txid, seq) order of 0003 depended
  on the cluster-wide snapshot xmin: any long transaction on the cluster (a pg_dump, an analytics query)
  held every new context row back for as long as it ran. txid goes.

Each connection, block and trust row holds the whole latest state of its key (the pair, the blocker and
blocked member, the member), so once a later row of the same key exists the earlier one can go: a
reader that has not reached it yet gets the same state from the later row. Solicitations have no key;
they expire. See services/voting/context_feed.py (`compact`).
"""

from alembic import op

revision = "0004"
down_revision = "0003"
SCHEMA = "voting"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.context_log DROP COLUMN txid")  # its index goes with it
    op.execute(f"ALTER TABLE {SCHEMA}.context_log ADD COLUMN key text")
    op.execute(f"CREATE INDEX ix_context_log_key ON {SCHEMA}.context_log (kind, key, seq) WHERE key IS NOT NULL")
    op.execute(f"CREATE INDEX ix_context_log_expiring ON {SCHEMA}.context_log (recorded_at) WHERE key IS NULL")


def downgrade() -> None:
    op.execute(f"DROP INDEX {SCHEMA}.ix_context_log_expiring")
    op.execute(f"DROP INDEX {SCHEMA}.ix_context_log_key")
    op.execute(f"ALTER TABLE {SCHEMA}.context_log DROP COLUMN key")
    op.execute(f"ALTER TABLE {SCHEMA}.context_log ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute(f"CREATE INDEX ix_context_log_txid_seq ON {SCHEMA}.context_log (txid, seq)")
