"""the graph: adjacency edges, invitations, blocks, introductions, dismissed suggestions; member topics

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
SCHEMA = "connections"

UPGRADE = [
    f"""ALTER TABLE {SCHEMA}.members
        ADD COLUMN topics text[] NOT NULL DEFAULT '{{}}',
        ADD COLUMN profile_updated_at timestamptz,
        ADD COLUMN deleted_at timestamptz,
        ADD COLUMN invitations_restricted_until timestamptz""",
    # Both directions of every connection; the primary key is the adjacency index.
    f"""CREATE TABLE {SCHEMA}.edges (
        member_id uuid NOT NULL CONSTRAINT fk_edges_member_id_members REFERENCES {SCHEMA}.members (member_id),
        other_id uuid NOT NULL CONSTRAINT fk_edges_other_id_members REFERENCES {SCHEMA}.members (member_id),
        provenance text NOT NULL,
        made_at timestamptz NOT NULL,
        CONSTRAINT pk_edges PRIMARY KEY (member_id, other_id),
        CONSTRAINT ck_edges_not_self CHECK (member_id <> other_id),
        CONSTRAINT ck_edges_provenance CHECK (provenance IN ('invitation', 'introduction', 'suggestion', 'import'))
    )""",
    # Newest-first listing with a (made_at, other_id) cursor.
    f"CREATE INDEX ix_edges_member_id_made_at ON {SCHEMA}.edges (member_id, made_at DESC, other_id)",
    f"""CREATE TABLE {SCHEMA}.blocks (
        blocker_id uuid NOT NULL,
        blocked_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_blocks PRIMARY KEY (blocker_id, blocked_id)
    )""",
    f"CREATE INDEX ix_blocks_blocked_id ON {SCHEMA}.blocks (blocked_id)",
    f"""CREATE TABLE {SCHEMA}.invitations (
        invitation_id uuid NOT NULL CONSTRAINT pk_invitations PRIMARY KEY,
        from_id uuid NOT NULL CONSTRAINT fk_invitations_from_id_members REFERENCES {SCHEMA}.members (member_id),
        to_id uuid NOT NULL CONSTRAINT fk_invitations_to_id_members REFERENCES {SCHEMA}.members (member_id),
        note text CONSTRAINT ck_invitations_note_length CHECK (char_length(note) <= 300),
        status text NOT NULL CONSTRAINT ck_invitations_status
            CHECK (status IN ('pending', 'accepted', 'declined', 'withdrawn', 'expired', 'cancelled')),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        resolved_at timestamptz,
        via_suggestion boolean NOT NULL DEFAULT false,
        CONSTRAINT ck_invitations_not_self CHECK (from_id <> to_id)
    )""",
    # At most one pending invitation per ordered pair: a repeated invitation is never duplicated.
    f"CREATE UNIQUE INDEX uq_invitations_pending_pair ON {SCHEMA}.invitations (from_id, to_id) WHERE status = 'pending'",
    f"CREATE INDEX ix_invitations_from_id_created_at ON {SCHEMA}.invitations (from_id, created_at DESC)",
    f"CREATE INDEX ix_invitations_to_id_created_at ON {SCHEMA}.invitations (to_id, created_at DESC)",
    f"CREATE INDEX ix_invitations_pending_expires_at ON {SCHEMA}.invitations (expires_at) WHERE status = 'pending'",
    f"""CREATE TABLE {SCHEMA}.introductions (
        introduction_id uuid NOT NULL CONSTRAINT pk_introductions PRIMARY KEY,
        requester_id uuid NOT NULL CONSTRAINT fk_introductions_requester_id_members REFERENCES {SCHEMA}.members (member_id),
        introducer_id uuid NOT NULL CONSTRAINT fk_introductions_introducer_id_members REFERENCES {SCHEMA}.members (member_id),
        target_id uuid NOT NULL CONSTRAINT fk_introductions_target_id_members REFERENCES {SCHEMA}.members (member_id),
        message text NOT NULL CONSTRAINT ck_introductions_message_length CHECK (char_length(message) BETWEEN 1 AND 500),
        forward_note text CONSTRAINT ck_introductions_forward_note_length CHECK (char_length(forward_note) <= 500),
        status text NOT NULL CONSTRAINT ck_introductions_status CHECK (status IN ('requested', 'forwarded', 'accepted', 'declined')),
        declined_by text CONSTRAINT ck_introductions_declined_by CHECK (declined_by IN ('introducer', 'target')),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT ck_introductions_distinct CHECK (requester_id <> introducer_id AND requester_id <> target_id AND introducer_id <> target_id)
    )""",
    # One open request per (requester, target): asking twice is not duplicated.
    f"""CREATE UNIQUE INDEX uq_introductions_open_pair ON {SCHEMA}.introductions (requester_id, target_id)
        WHERE status IN ('requested', 'forwarded')""",
    f"CREATE INDEX ix_introductions_introducer_id ON {SCHEMA}.introductions (introducer_id, created_at DESC)",
    f"CREATE INDEX ix_introductions_target_id ON {SCHEMA}.introductions (target_id, created_at DESC)",
    f"""CREATE TABLE {SCHEMA}.suggestion_dismissals (
        member_id uuid NOT NULL,
        dismissed_id uuid NOT NULL,
        dismissed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_suggestion_dismissals PRIMARY KEY (member_id, dismissed_id)
    )""",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for table in ("suggestion_dismissals", "introductions", "invitations", "blocks", "edges"):
        op.execute(f"DROP TABLE {SCHEMA}.{table}")
    op.execute(
        f"""ALTER TABLE {SCHEMA}.members DROP COLUMN topics, DROP COLUMN profile_updated_at,
            DROP COLUMN deleted_at, DROP COLUMN invitations_restricted_until"""
    )
