"""what the decision pipeline knows besides votes, and what it found

Revision ID: 0003
Revises: 0002

- members: voting's copy of each member's standing from profile events (registered_at, email verified,
  trust level, deleted). Members never seen here vote as plain members.
- context_log: every context change the tally consumer's checks read (connections with provenance and
  time, blocks, trust signals, message solicitations), appended by the `events` consumer and read by
  every tally consumer replica in (txid, seq) order: at start-up all of it, then per batch what is new.
  Reading only transactions older than the reader's snapshot xmin (`txid < pg_snapshot_xmin(...)`)
  makes the order gap-free: a row can never appear behind a position a reader has passed.
- ix_ballots_discounted: a partial index of discounted standing votes by voter, for the moderation
  API's per-voter listing; counted votes (nearly all) stay out of it, so the tally consumer's writes
  barely pay for it.
- findings: manipulation found by the tally consumer (one row per target and batch), for moderators;
  the same facts travel as `manipulation.suspected` on agora.integrity.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
SCHEMA = "voting"


def upgrade() -> None:
    op.execute(
        f"""CREATE TABLE {SCHEMA}.members (
                member_id uuid NOT NULL,
                registered_at timestamptz,
                email_verified boolean NOT NULL DEFAULT false,
                trust_level text NOT NULL DEFAULT 'new',
                deleted boolean NOT NULL DEFAULT false,
                updated_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT pk_members PRIMARY KEY (member_id)
            )"""
    )
    op.execute(
        f"""CREATE TABLE {SCHEMA}.context_log (
                seq bigserial NOT NULL,
                txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
                kind text NOT NULL,
                data jsonb NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT pk_context_log PRIMARY KEY (seq)
            )"""
    )
    op.execute(f"CREATE INDEX ix_context_log_txid_seq ON {SCHEMA}.context_log (txid, seq)")
    op.execute(
        f"""CREATE TABLE {SCHEMA}.findings (
                finding_id uuid NOT NULL,
                target_id uuid NOT NULL,
                author_id uuid,
                reasons jsonb NOT NULL,
                voters uuid[] NOT NULL,
                votes_discounted integer NOT NULL,
                detected_at timestamptz NOT NULL,
                CONSTRAINT pk_findings PRIMARY KEY (finding_id)
            )"""
    )
    op.execute(f"CREATE INDEX ix_findings_target ON {SCHEMA}.findings (target_id, detected_at DESC)")
    op.execute(f"CREATE INDEX ix_ballots_discounted ON {SCHEMA}.ballots (voter_id, cast_at DESC) WHERE weight < 1")
    op.execute(f"CREATE INDEX ix_findings_detected ON {SCHEMA}.findings (detected_at DESC, finding_id)")


def downgrade() -> None:
    op.execute(f"DROP INDEX {SCHEMA}.ix_ballots_discounted")
    op.execute(f"DROP TABLE {SCHEMA}.findings")
    op.execute(f"DROP TABLE {SCHEMA}.context_log")
    op.execute(f"DROP TABLE {SCHEMA}.members")
