"""whom a comment answers, for "replies to me"

Revision ID: 0004
Revises: 0003

comments.reply_to: the author of what the comment answers (the post's author for a top-level comment,
the parent comment's author for a reply), set when the comment is written, so that a member's replies
are one index range (`GET /v1/comments/replies`) however many posts and comments they have.
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("ALTER TABLE content.comments ADD COLUMN reply_to uuid")
    op.execute("""UPDATE content.comments c SET reply_to = COALESCE(
                      (SELECT parent.author_id FROM content.comments parent WHERE parent.id = c.parent_id),
                      (SELECT p.author_id FROM content.posts p WHERE p.id = c.post_id AND c.parent_id IS NULL))""")
    op.execute("CREATE INDEX ix_comments_reply_to ON content.comments (reply_to, created_at DESC, id DESC) WHERE reply_to IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX content.ix_comments_reply_to")
    op.execute("ALTER TABLE content.comments DROP COLUMN reply_to")
