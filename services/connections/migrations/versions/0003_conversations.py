"""conversations: direct and group conversations, their members' markers, messages, reports

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
SCHEMA = "connections"

UPGRADE = [
    f"""CREATE TABLE {SCHEMA}.conversations (
        conversation_id uuid NOT NULL CONSTRAINT pk_conversations PRIMARY KEY,
        kind text NOT NULL CONSTRAINT ck_conversations_kind CHECK (kind IN ('direct', 'group')),
        title text CONSTRAINT ck_conversations_title_length CHECK (char_length(title) <= 100),
        created_by uuid NOT NULL CONSTRAINT fk_conversations_created_by_members REFERENCES {SCHEMA}.members (member_id),
        origin text NOT NULL CONSTRAINT ck_conversations_origin CHECK (origin IN ('member', 'introduction')),
        -- 'lo:hi' member ids of a direct conversation, NULL for groups
        direct_key text,
        -- a direct conversation started with a non-connection is a message request until the recipient answers
        request_status text CONSTRAINT ck_conversations_request_status CHECK (request_status IN ('pending', 'accepted', 'declined')),
        request_to uuid,
        created_at timestamptz NOT NULL,
        last_message_at timestamptz NOT NULL,
        -- the per-conversation message counter: sends take the row lock to draw the next number
        last_seq bigint NOT NULL DEFAULT 0,
        -- closed by a block between the two members or an account deletion: hidden from both, for good
        closed_at timestamptz,
        CONSTRAINT ck_conversations_direct_key CHECK ((kind = 'direct') = (direct_key IS NOT NULL)),
        CONSTRAINT ck_conversations_request CHECK ((request_status IS NULL) = (request_to IS NULL))
    )""",
    # One open direct conversation per pair (a closed one does not stop a new one after an unblock).
    f"CREATE UNIQUE INDEX uq_conversations_direct_key_open ON {SCHEMA}.conversations (direct_key) WHERE closed_at IS NULL",
    # Rate limits: conversations a member started recently.
    f"CREATE INDEX ix_conversations_created_by_created_at ON {SCHEMA}.conversations (created_by, created_at)",
    f"""CREATE TABLE {SCHEMA}.conversation_members (
        conversation_id uuid NOT NULL CONSTRAINT fk_conversation_members_conversation_id_conversations
            REFERENCES {SCHEMA}.conversations (conversation_id),
        member_id uuid NOT NULL CONSTRAINT fk_conversation_members_member_id_members REFERENCES {SCHEMA}.members (member_id),
        joined_at timestamptz NOT NULL,
        left_at timestamptz,
        muted boolean NOT NULL DEFAULT false,
        last_delivered_seq bigint NOT NULL DEFAULT 0,
        last_read_seq bigint NOT NULL DEFAULT 0,
        last_read_at timestamptz,
        CONSTRAINT pk_conversation_members PRIMARY KEY (conversation_id, member_id),
        CONSTRAINT ck_conversation_members_markers CHECK (last_read_seq <= last_delivered_seq)
    )""",
    f"CREATE INDEX ix_conversation_members_member_id ON {SCHEMA}.conversation_members (member_id) WHERE left_at IS NULL",
    f"""CREATE TABLE {SCHEMA}.messages (
        message_id uuid NOT NULL CONSTRAINT pk_messages PRIMARY KEY,
        conversation_id uuid NOT NULL CONSTRAINT fk_messages_conversation_id_conversations
            REFERENCES {SCHEMA}.conversations (conversation_id),
        seq bigint NOT NULL,
        sender_id uuid NOT NULL CONSTRAINT fk_messages_sender_id_members REFERENCES {SCHEMA}.members (member_id),
        -- NULL once deleted by its sender or anonymised after an account deletion
        body text CONSTRAINT ck_messages_body_length CHECK (char_length(body) BETWEEN 1 AND 4000),
        linked_post_ids uuid[] NOT NULL DEFAULT '{{}}',
        sent_at timestamptz NOT NULL,
        edited_at timestamptz,
        deleted_at timestamptz,
        CONSTRAINT ck_messages_deleted_has_no_body CHECK (deleted_at IS NULL OR body IS NULL)
    )""",
    # Pages both ways and unread counts: (conversation, seq) is the order of a conversation.
    f"CREATE UNIQUE INDEX uq_messages_conversation_id_seq ON {SCHEMA}.messages (conversation_id, seq)",
    # Send-rate limit and account deletion: a member's messages by time.
    f"CREATE INDEX ix_messages_sender_id_sent_at ON {SCHEMA}.messages (sender_id, sent_at)",
    f"""CREATE TABLE {SCHEMA}.conversation_reports (
        report_id uuid NOT NULL CONSTRAINT pk_conversation_reports PRIMARY KEY,
        conversation_id uuid NOT NULL CONSTRAINT fk_conversation_reports_conversation_id_conversations
            REFERENCES {SCHEMA}.conversations (conversation_id),
        reporter_id uuid NOT NULL CONSTRAINT fk_conversation_reports_reporter_id_members REFERENCES {SCHEMA}.members (member_id),
        reason text NOT NULL CONSTRAINT ck_conversation_reports_reason
            CHECK (reason IN ('spam', 'harassment', 'solicitation', 'scam', 'other')),
        reported_at timestamptz NOT NULL
    )""",
    f"CREATE UNIQUE INDEX uq_conversation_reports_conversation_id_reporter_id ON {SCHEMA}.conversation_reports (conversation_id, reporter_id)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for table in ("conversation_reports", "messages", "conversation_members", "conversations"):
        op.execute(f"DROP TABLE {SCHEMA}.{table}")
