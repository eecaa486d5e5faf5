"""posts grow (edits, soft delete, scores, ranks, search), revisions, comments, shares, network read model

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
SCHEMA = "content"

UPGRADE = [
    # Posts: anonymisable author, rendered body, link key for duplicates, edits, soft delete, the tally copy,
    # stored ranks (hot/best/controversial change only when the tally does) and the search document.
    """ALTER TABLE content.posts
        ALTER COLUMN author_id DROP NOT NULL,
        ADD COLUMN body_html text,
        ADD COLUMN url_key text,
        ADD COLUMN revision integer NOT NULL DEFAULT 1,
        ADD COLUMN updated_at timestamptz,
        ADD COLUMN deleted_at timestamptz,
        ADD COLUMN ups integer NOT NULL DEFAULT 0,
        ADD COLUMN downs integer NOT NULL DEFAULT 0,
        ADD COLUMN score integer NOT NULL DEFAULT 0,
        ADD COLUMN trusted_score integer,
        ADD COLUMN rank_score integer NOT NULL DEFAULT 0,
        ADD COLUMN tally_version bigint NOT NULL DEFAULT 0,
        ADD COLUMN hot double precision NOT NULL DEFAULT 0,
        ADD COLUMN best double precision NOT NULL DEFAULT 0,
        ADD COLUMN controversial double precision NOT NULL DEFAULT 0,
        ADD COLUMN comment_count integer NOT NULL DEFAULT 0,
        ADD COLUMN comment_seq integer NOT NULL DEFAULT 0,
        ADD COLUMN share_count integer NOT NULL DEFAULT 0,
        ADD COLUMN search tsvector""",
    # Reddit's hot rank (services/content/ranking.py holds the same formula): the tally handler applies a
    # tally to a post in one statement with it.
    """CREATE FUNCTION content.hot_rank(score integer, created_at timestamptz) RETURNS double precision
        LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN
        round((sign(score) * log(greatest(abs(score), 1)) + (extract(epoch FROM created_at) - 1134028003) / 45000)::numeric, 7)""",
    "UPDATE content.posts SET hot = content.hot_rank(0, created_at)",
    """ALTER TABLE content.posts
        ADD CONSTRAINT ck_posts_kind CHECK (kind IN ('article', 'link', 'video', 'image', 'news', 'question', 'story', 'joke')),
        ADD CONSTRAINT ck_posts_topics CHECK (cardinality(topics) BETWEEN 1 AND 5),
        ADD CONSTRAINT ck_posts_title CHECK (char_length(title) BETWEEN 1 AND 300)""",
    """CREATE FUNCTION content.posts_search() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search := setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')
                       || setweight(to_tsvector('simple', array_to_string(NEW.topics, ' ')), 'B')
                       || setweight(to_tsvector('english', coalesce(NEW.body, '')), 'D');
            RETURN NEW;
        END $$""",
    """CREATE TRIGGER posts_search BEFORE INSERT OR UPDATE OF title, body, topics ON content.posts
        FOR EACH ROW EXECUTE FUNCTION content.posts_search()""",
    "UPDATE content.posts SET title = title",
    # Feed orders: every listing is a keyset walk over one of these (deleted posts never listed).
    "CREATE INDEX ix_posts_hot ON content.posts (hot DESC, id DESC) WHERE deleted_at IS NULL",
    # `new`, and the window-first plan of top/controversial/rising over short windows (index-only).
    "CREATE INDEX ix_posts_new ON content.posts (created_at DESC, id DESC) INCLUDE (rank_score, controversial) WHERE deleted_at IS NULL",
    "CREATE INDEX ix_posts_top ON content.posts (rank_score DESC, id DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX ix_posts_best ON content.posts (best DESC, id DESC) WHERE deleted_at IS NULL",
    "CREATE INDEX ix_posts_controversial ON content.posts (controversial DESC, id DESC) WHERE deleted_at IS NULL",
    # Network feeds gather their members' posts, then order them: every rank is in the index.
    """CREATE INDEX ix_posts_author_feed ON content.posts (author_id, created_at DESC, id DESC)
        INCLUDE (hot, rank_score, best, controversial) WHERE deleted_at IS NULL""",
    "CREATE INDEX ix_posts_search ON content.posts USING gin (search) WHERE deleted_at IS NULL",
    "CREATE INDEX ix_posts_url_key ON content.posts (url_key, created_at DESC) WHERE url_key IS NOT NULL AND deleted_at IS NULL",
    # A topic feed walks its own index, rare topic or popular: one row per (topic, live post), carrying
    # the post's ranks (kept by the same statements that change them on the post).
    """CREATE TABLE content.topic_posts (
        topic text NOT NULL,
        post_id uuid NOT NULL REFERENCES content.posts (id),
        created_at timestamptz NOT NULL,
        hot double precision NOT NULL,
        rank_score integer NOT NULL,
        best double precision NOT NULL,
        controversial double precision NOT NULL,
        CONSTRAINT pk_topic_posts PRIMARY KEY (topic, post_id))""",
    "CREATE INDEX ix_topic_posts_hot ON content.topic_posts (topic, hot DESC, post_id DESC)",
    "CREATE INDEX ix_topic_posts_new ON content.topic_posts (topic, created_at DESC, post_id DESC) INCLUDE (rank_score, controversial)",
    "CREATE INDEX ix_topic_posts_top ON content.topic_posts (topic, rank_score DESC, post_id DESC)",
    "CREATE INDEX ix_topic_posts_best ON content.topic_posts (topic, best DESC, post_id DESC)",
    "CREATE INDEX ix_topic_posts_post_id ON content.topic_posts (post_id)",
    """INSERT INTO content.topic_posts (topic, post_id, created_at, hot, rank_score, best, controversial)
        SELECT t, id, created_at, hot, rank_score, best, controversial FROM content.posts, unnest(topics) AS t""",
    """CREATE TABLE content.post_revisions (
        post_id uuid NOT NULL REFERENCES content.posts (id),
        revision integer NOT NULL,
        title text NOT NULL,
        body text,
        topics text[] NOT NULL,
        editor_id uuid,
        created_at timestamptz NOT NULL,
        CONSTRAINT pk_post_revisions PRIMARY KEY (post_id, revision))""",
    # Comments: a materialised path of fixed-width base-36 segments (per-post sequence), compared in the
    # C collation so a subtree is one index range.
    """CREATE TABLE content.comments (
        id uuid PRIMARY KEY,
        post_id uuid NOT NULL REFERENCES content.posts (id),
        parent_id uuid REFERENCES content.comments (id),
        author_id uuid,
        path text COLLATE "C" NOT NULL,
        depth integer NOT NULL CHECK (depth >= 0),
        body text,
        body_html text,
        created_at timestamptz NOT NULL,
        deleted_at timestamptz,
        reply_count integer NOT NULL DEFAULT 0,
        ups integer NOT NULL DEFAULT 0,
        downs integer NOT NULL DEFAULT 0,
        score integer NOT NULL DEFAULT 0,
        trusted_score integer,
        rank_score integer NOT NULL DEFAULT 0,
        tally_version bigint NOT NULL DEFAULT 0,
        best double precision NOT NULL DEFAULT 0,
        controversial double precision NOT NULL DEFAULT 0)""",
    "CREATE UNIQUE INDEX ix_comments_path ON content.comments (post_id, path)",
    "CREATE INDEX ix_comments_parent ON content.comments (post_id, parent_id)",
    "CREATE INDEX ix_comments_author ON content.comments (author_id)",
    """CREATE TABLE content.shares (
        id uuid PRIMARY KEY,
        post_id uuid NOT NULL REFERENCES content.posts (id),
        sharer_id uuid,
        comment text,
        comment_html text,
        created_at timestamptz NOT NULL)""",
    "CREATE UNIQUE INDEX uq_shares_post_id_sharer_id ON content.shares (post_id, sharer_id)",
    "CREATE INDEX ix_shares_sharer_id ON content.shares (sharer_id, created_at DESC)",
    # The network read model, from connections' events. Each edge keeps its last 'made' and 'removed'
    # instants; it is live when made after it was last removed, so events applied out of order agree.
    """CREATE TABLE content.follows (
        follower_id uuid NOT NULL,
        followee_id uuid NOT NULL,
        followed_at timestamptz NOT NULL DEFAULT '-infinity',
        unfollowed_at timestamptz NOT NULL DEFAULT '-infinity',
        CONSTRAINT pk_follows PRIMARY KEY (follower_id, followee_id))""",
    """CREATE TABLE content.connections (
        member_id uuid NOT NULL,
        other_id uuid NOT NULL,
        made_at timestamptz NOT NULL DEFAULT '-infinity',
        removed_at timestamptz NOT NULL DEFAULT '-infinity',
        CONSTRAINT pk_connections PRIMARY KEY (member_id, other_id))""",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for table in ("connections", "follows", "shares", "comments", "post_revisions", "topic_posts"):
        op.execute(f"DROP TABLE content.{table}")
    op.execute("DROP TRIGGER posts_search ON content.posts")
    op.execute("DROP FUNCTION content.hot_rank(integer, timestamptz)")
    op.execute("DROP FUNCTION content.posts_search()")
    for index in ("hot", "new", "top", "best", "controversial", "author_feed", "search", "url_key"):
        op.execute(f"DROP INDEX content.ix_posts_{index}")
    op.execute("""ALTER TABLE content.posts DROP CONSTRAINT ck_posts_kind, DROP CONSTRAINT ck_posts_topics,
        DROP CONSTRAINT ck_posts_title""")
    op.execute("""ALTER TABLE content.posts DROP COLUMN body_html, DROP COLUMN url_key, DROP COLUMN revision,
        DROP COLUMN updated_at, DROP COLUMN deleted_at, DROP COLUMN ups, DROP COLUMN downs, DROP COLUMN score,
        DROP COLUMN trusted_score, DROP COLUMN rank_score, DROP COLUMN tally_version, DROP COLUMN hot, DROP COLUMN best,
        DROP COLUMN controversial, DROP COLUMN comment_count, DROP COLUMN comment_seq, DROP COLUMN share_count,
        DROP COLUMN search""")

