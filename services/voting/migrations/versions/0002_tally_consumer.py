"""the dedicated tally consumer: ballots keyed by target, decisions on ballots, raw + trusted tallies,
deleted members, comments as targets

Revision ID: 0002
Revises: 0001

- ballots: primary key (target_id, voter_id) instead of (voter_id, target_id). The tally consumer owns a
  partition's targets and pages a target's standing votes in with one index range scan
  (`WHERE target_id = ANY(...)`); the member's own vote (`GET /v1/votes/mine`) uses the same key. One
  index only: every extra index on this table costs write throughput.
- ballots.weight / ballots.reasons: the decision pipeline's outcome of the standing vote (weight 1, no
  reasons = counted), so a target paged back in keeps its trusted score exactly.
- tallies: trusted_score (Σ value × weight of standing votes), reduced and not_counted counts.
- deleted_members: members whose account was deleted (from `account.deleted`); their votes are refused.
- targets.post_id: for comments, the post they belong to.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
SCHEMA = "voting"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.ballots DROP CONSTRAINT pk_ballots")
    op.execute(f"ALTER TABLE {SCHEMA}.ballots ADD CONSTRAINT pk_ballots PRIMARY KEY (target_id, voter_id)")
    op.execute(f"ALTER TABLE {SCHEMA}.ballots ADD COLUMN weight double precision NOT NULL DEFAULT 1")
    op.execute(f"ALTER TABLE {SCHEMA}.ballots ADD COLUMN reasons text[]")
    op.execute(f"ALTER TABLE {SCHEMA}.tallies ADD COLUMN trusted_score double precision NOT NULL DEFAULT 0")
    op.execute(f"ALTER TABLE {SCHEMA}.tallies ADD COLUMN reduced bigint NOT NULL DEFAULT 0")
    op.execute(f"ALTER TABLE {SCHEMA}.tallies ADD COLUMN not_counted bigint NOT NULL DEFAULT 0")
    op.execute(f"UPDATE {SCHEMA}.tallies SET trusted_score = ups - downs")
    op.execute(f"ALTER TABLE {SCHEMA}.targets ADD COLUMN post_id uuid")
    op.execute(
        f"""CREATE TABLE {SCHEMA}.deleted_members (
                member_id uuid NOT NULL,
                deleted_at timestamptz NOT NULL,
                CONSTRAINT pk_deleted_members PRIMARY KEY (member_id)
            )"""
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {SCHEMA}.deleted_members")
    op.execute(f"ALTER TABLE {SCHEMA}.targets DROP COLUMN post_id")
    op.execute(f"ALTER TABLE {SCHEMA}.tallies DROP COLUMN not_counted, DROP COLUMN reduced, DROP COLUMN trusted_score")
    op.execute(f"ALTER TABLE {SCHEMA}.ballots DROP COLUMN reasons, DROP COLUMN weight")
    op.execute(f"ALTER TABLE {SCHEMA}.ballots DROP CONSTRAINT pk_ballots")
    op.execute(f"ALTER TABLE {SCHEMA}.ballots ADD CONSTRAINT pk_ballots PRIMARY KEY (voter_id, target_id)")
