"""Content's data access: adds and queries, never commits.

Writes go through the ORM session. Listings (feeds, threads, search) are hot read paths: they run one
hand-written statement on the session's underlying asyncpg connection (same transaction), skipping
SQLAlchemy's result layer (measured at ≈ 2.6× the cost of a simple query on this kind of machine).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import literal, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.content.models import Comment, Post, PostRevision, Share

POST_COLUMNS = (
    "p.id, p.author_id, p.kind, p.title, p.body, p.body_html, p.url, p.topics, p.created_at, p.updated_at, p.revision, "
    "p.deleted_at, p.ups, p.downs, p.score, p.trusted_score, p.comment_count, p.share_count, p.hot, p.best, p.controversial"
)
COMMENT_COLUMNS = (
    "c.id, c.post_id, c.parent_id, c.author_id, c.depth, c.path, c.body, c.body_html, c.created_at, c.deleted_at, "
    "c.ups, c.downs, c.score, c.rank_score, c.reply_count, c.best, c.controversial"
)

# A feed's sort -> the rank column it orders by (highest first); `rising` is computed at the listing's
# as-of instant ($1) from the score and the age.
POST_SORTS: dict[str, str] = {
    "hot": "hot", "new": "created_at", "top": "rank_score", "best": "best", "controversial": "controversial", "rising": "rising",
}


def post_key(sort: str, alias: str) -> str:
    if sort == "rising":
        return f"({alias}.rank_score / power(extract(epoch FROM ($1::timestamptz - {alias}.created_at))::float8 / 3600 + 2, 1.8))"
    return f"{alias}.{POST_SORTS[sort]}"


COMMENT_SORTS: dict[str, tuple[str, bool]] = {
    "best": ("c.best", True),
    "top": ("c.rank_score", True),
    "new": ("c.created_at", True),
    "old": ("c.created_at", False),
    "controversial": ("c.controversial", True),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def key_type(expression: str) -> str:
    if expression.endswith("created_at"):
        return "timestamptz"
    return "int" if expression.endswith("rank_score") else "float8"


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, inside the session's transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]


class Posts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, post: Post, editor: uuid.UUID) -> Post:
        self.session.add(post)
        await self.session.flush()
        self.session.add(PostRevision(post_id=post.id, revision=1, title=post.title, body=post.body, topics=post.topics, editor_id=editor, created_at=post.created_at))
        await self.session.flush()
        return post

    async def get(self, post_id: uuid.UUID, *, for_update: bool = False) -> Post | None:
        stmt = select(Post).where(Post.id == post_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_revision(self, post: Post, editor: uuid.UUID) -> None:
        self.session.add(PostRevision(post_id=post.id, revision=post.revision, title=post.title, body=post.body, topics=post.topics, editor_id=editor, created_at=post.updated_at))
        await self.session.flush()

    async def revisions(self, post_id: uuid.UUID) -> list[PostRevision]:
        rows = await self.session.execute(select(PostRevision).where(PostRevision.post_id == post_id).order_by(PostRevision.revision))
        return list(rows.scalars())

    async def lock_link(self, url_key: str) -> None:
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('content.link'), hashtext(:k))"), {"k": url_key})

    async def recent_with_link(self, url_key: str, since: datetime) -> Post | None:
        stmt = (select(Post).where(Post.url_key == url_key, Post.deleted_at.is_(None), Post.created_at >= since)
                .order_by(Post.created_at.desc()).limit(1))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def index_topics(self, post_id: uuid.UUID) -> None:
        """(Re)write the post's entries in its topics' feeds from the post row (after create or a topic edit)."""
        await self.session.execute(text("DELETE FROM topic_posts WHERE post_id = :p"), {"p": post_id})
        await self.session.execute(text(
            "INSERT INTO topic_posts (topic, post_id, created_at, hot, rank_score, best, controversial) "
            "SELECT t, id, created_at, hot, rank_score, best, controversial FROM posts, unnest(topics) AS t WHERE id = :p"
        ), {"p": post_id})

    async def unindex_topics(self, post_id: uuid.UUID) -> None:
        await self.session.execute(text("DELETE FROM topic_posts WHERE post_id = :p"), {"p": post_id})

    async def take_comment_slot(self, post_id: uuid.UUID) -> tuple[int, datetime | None, uuid.UUID | None] | None:
        """Count a new comment on the post (row-locking it) and return its sequence number, deleted_at and author."""
        row = (await self.session.execute(
            update(Post).where(Post.id == post_id)
            .values(comment_seq=Post.comment_seq + 1, comment_count=Post.comment_count + 1)
            .returning(Post.comment_seq, Post.deleted_at, Post.author_id)
        )).first()
        return (row[0], row[1], row[2]) if row else None

    async def count_comment_removed(self, post_id: uuid.UUID) -> None:
        await self.session.execute(update(Post).where(Post.id == post_id).values(comment_count=Post.comment_count - 1))

    async def count_share(self, post_id: uuid.UUID) -> int:
        return (await self.session.execute(
            update(Post).where(Post.id == post_id).values(share_count=Post.share_count + 1).returning(Post.share_count)
        )).scalar_one()


class Comments:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def replies_to(self, member: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Comment]:
        """Live comments answering the member (on their posts, or replying to their comments), by others,
        newest first: one range of ix_comments_reply_to."""
        stmt = select(Comment).where(Comment.reply_to == member, Comment.deleted_at.is_(None),
                                     Comment.author_id.is_not(None), Comment.author_id != member)
        if after is not None:
            stmt = stmt.where(tuple_(Comment.created_at, Comment.id) < tuple_(literal(after[0]), literal(after[1])))
        return list((await self.session.scalars(stmt.order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit))))

    async def add(self, comment: Comment) -> Comment:
        self.session.add(comment)
        await self.session.flush()
        return comment

    async def get(self, comment_id: uuid.UUID, *, for_update: bool = False) -> Comment | None:
        stmt = select(Comment).where(Comment.id == comment_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count_reply(self, comment_id: uuid.UUID) -> None:
        await self.session.execute(update(Comment).where(Comment.id == comment_id).values(reply_count=Comment.reply_count + 1))

    async def siblings(self, post_id: uuid.UUID, parent_id: uuid.UUID | None, sort: str, after: tuple[Any, uuid.UUID] | None, limit: int) -> list[asyncpg.Record]:
        key, desc = COMMENT_SORTS[sort]
        args: list[Any] = [post_id]
        if parent_id is None:
            where = "c.post_id = $1 AND c.parent_id IS NULL"
        else:
            args.append(parent_id)
            where = "c.post_id = $1 AND c.parent_id = $2"
        if after is not None:
            args += [after[0], after[1]]
            where += f" AND ({key}, c.id) {'<' if desc else '>'} (${len(args) - 1}::{key_type(key)}, ${len(args)}::uuid)"
        order = "DESC" if desc else "ASC"
        args.append(limit)
        sql = f"SELECT {COMMENT_COLUMNS} FROM comments c WHERE {where} ORDER BY {key} {order}, c.id {order} LIMIT ${len(args)}"
        return await (await driver(self.session)).fetch(sql, *args)

    async def descendants(self, post_id: uuid.UUID, roots: list[str], base_depth: int, levels: int, sort: str, per_parent: int) -> list[asyncpg.Record]:
        """Replies below `roots` (paths, all at `base_depth`) down to `levels` more levels, the first
        `per_parent` of each parent in the sort order; rows come ordered by depth, then sort order."""
        key, desc = COMMENT_SORTS[sort]
        order = "DESC" if desc else "ASC"
        width = len(roots[0])
        lo, hi = min(roots), max(roots) + "~"  # one index range over the roots' subtrees ('~' sorts after base-36)
        sql = (
            f"SELECT * FROM (SELECT {COMMENT_COLUMNS}, row_number() OVER (PARTITION BY c.parent_id ORDER BY {key} {order}, c.id {order}) AS rn "
            "FROM comments c WHERE c.post_id = $1 AND c.path >= $2 AND c.path < $3 AND c.depth > $4 AND c.depth <= $5 "
            "AND left(c.path, $6) = ANY($7::text[])) s "
            "WHERE s.rn <= $8 ORDER BY s.depth, s.rn"
        )
        return await (await driver(self.session)).fetch(sql, post_id, lo, hi, base_depth, base_depth + levels, width, roots, per_parent)


class Shares:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, share: Share) -> Share:
        self.session.add(share)
        await self.session.flush()
        return share

    async def page(self, post_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Share]:
        stmt = select(Share).where(Share.post_id == post_id)
        if after is not None:
            stmt = stmt.where(tuple_(Share.created_at, Share.id) < tuple_(literal(after[0]), literal(after[1])))
        stmt = stmt.order_by(Share.created_at.desc(), Share.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def exists(self, post_id: uuid.UUID, sharer_id: uuid.UUID) -> bool:
        row = await self.session.execute(select(Share.id).where(Share.post_id == post_id, Share.sharer_id == sharer_id))
        return row.first() is not None


NETWORK_SQL = {
    # Members whose posts and shares fill a member's network feed: followed or connected.
    "network": (
        "SELECT followee_id FROM follows WHERE follower_id = $M AND followed_at > unfollowed_at "
        "UNION SELECT other_id FROM connections WHERE member_id = $M AND made_at > removed_at"
    ),
    "connections": "SELECT other_id FROM connections WHERE member_id = $M AND made_at > removed_at",
}


class Feeds:
    """Feed pages in two steps: a source query finds the page's (id, sort key) through the narrowest index,
    then the page's rows are joined from posts. The source depends on the listing:

        all / topic, ordered walk     the rank's index (posts, or topic_posts for a topic) read in order
        short windows (window_first)  top/controversial over an hour/day/week and rising: the window's
                                      entries from the creation-time index, then sorted — a day is a few
                                      thousand index entries, while walking the rank index for posts of
                                      the last day would skip nearly everything
        network                       the members' posts and shares gathered, then sorted
        author                        one member's posts, from the (author_id, created_at) index that carries every rank
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, *, sort: str, since: datetime, as_of: datetime, after: tuple[Any, uuid.UUID] | None, limit: int,
        window_first: bool = False, topic: str | None = None, network_of: uuid.UUID | None = None, circle: str = "network",
        author: uuid.UUID | None = None,
    ) -> list[asyncpg.Record]:
        args: list[Any] = [as_of]  # $1: rising is computed at this instant

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        def keyset(alias: str, id_column: str) -> str:
            if after is None:
                return ""
            key = post_key(sort, alias)
            return f" AND ({key}, {id_column}) < ({arg(after[0])}::{key_type(key)}, {arg(after[1])}::uuid)"

        window = "x.created_at <= $1" + (f" AND x.created_at >= {arg(since)}" if since > EPOCH else "")
        if network_of is not None:
            members = NETWORK_SQL[circle].replace("$M", arg(network_of))
            live = f"x.deleted_at IS NULL AND {window}{keyset('x', 'x.id')}"
            source = (
                f"SELECT id, sort_key FROM ("
                f"SELECT x.id, {post_key(sort, 'x')} AS sort_key FROM posts x WHERE x.author_id IN ({members}) AND {live} "
                f"UNION SELECT x.id, {post_key(sort, 'x')} FROM shares s JOIN posts x ON x.id = s.post_id "
                f"WHERE s.sharer_id IN ({members}) AND {live}) c ORDER BY sort_key DESC, id DESC LIMIT {arg(limit)}"
            )
        else:
            if author is not None:  # one member's posts, from ix_posts_author_feed (which carries every rank)
                table, id_column, scope = "posts x", "x.id", f"x.author_id = {arg(author)} AND x.deleted_at IS NULL"
            elif topic is not None:
                table, id_column, scope = "topic_posts x", "x.post_id", f"x.topic = {arg(topic)}"
            else:
                table, id_column, scope = "posts x", "x.id", "x.deleted_at IS NULL"
            if window_first:
                # OFFSET 0 keeps the planner from flattening the window into a walk of the rank index.
                inner = f"SELECT {id_column} AS id, x.created_at, x.rank_score, x.controversial FROM {table} WHERE {scope} AND {window} OFFSET 0"
                source = (f"SELECT w.id, {post_key(sort, 'w')} AS sort_key FROM ({inner}) w WHERE true{keyset('w', 'w.id')} "
                          f"ORDER BY sort_key DESC, w.id DESC LIMIT {arg(limit)}")
            else:
                key = post_key(sort, "x")
                source = (f"SELECT {id_column} AS id, {key} AS sort_key FROM {table} WHERE {scope} AND {window}{keyset('x', id_column)} "
                          f"ORDER BY {key} DESC, {id_column} DESC LIMIT {arg(limit)}")
        sql = f"SELECT {POST_COLUMNS}, s.sort_key FROM ({source}) s JOIN posts p ON p.id = s.id ORDER BY s.sort_key DESC, s.id DESC"
        conn = await driver(self.session)
        # Plan for the actual topic and instants: a generic plan of this prepared statement cannot tell
        # topic0 (100,000 posts) from a rare topic and picks one strategy for both (measured: 150 ms pages).
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return await conn.fetch(sql, *args)

    async def search(self, query: str, after: tuple[float, uuid.UUID] | None, limit: int) -> list[asyncpg.Record]:
        rank = "ts_rank_cd(p.search, q, 32)"
        args: list[Any] = [query]
        where = "p.search @@ q AND p.deleted_at IS NULL"
        if after is not None:
            args += [after[0], after[1]]
            where += f" AND ({rank}, p.id) < ($2::float8, $3::uuid)"
        args.append(limit)
        sql = (f"SELECT {POST_COLUMNS}, {rank} AS sort_key FROM posts p, websearch_to_tsquery('english', $1) q "
               f"WHERE {where} ORDER BY {rank} DESC, p.id DESC LIMIT ${len(args)}")
        return await (await driver(self.session)).fetch(sql, *args)


class Network:
    """The read model of who follows and who is connected to whom, from connections' events."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def followed(self, follower: uuid.UUID, followee: uuid.UUID, at: datetime) -> None:
        await self.session.execute(text(
            "INSERT INTO follows (follower_id, followee_id, followed_at) VALUES (:a, :b, :t) "
            "ON CONFLICT (follower_id, followee_id) DO UPDATE SET followed_at = GREATEST(follows.followed_at, excluded.followed_at)"
        ), {"a": follower, "b": followee, "t": at})

    async def unfollowed(self, follower: uuid.UUID, followee: uuid.UUID, at: datetime) -> None:
        await self.session.execute(text(
            "INSERT INTO follows (follower_id, followee_id, unfollowed_at) VALUES (:a, :b, :t) "
            "ON CONFLICT (follower_id, followee_id) DO UPDATE SET unfollowed_at = GREATEST(follows.unfollowed_at, excluded.unfollowed_at)"
        ), {"a": follower, "b": followee, "t": at})

    async def connected(self, a: uuid.UUID, b: uuid.UUID, at: datetime) -> None:
        await self.session.execute(text(
            "INSERT INTO connections (member_id, other_id, made_at) VALUES (:a, :b, :t), (:b, :a, :t) "
            "ON CONFLICT (member_id, other_id) DO UPDATE SET made_at = GREATEST(connections.made_at, excluded.made_at)"
        ), {"a": a, "b": b, "t": at})

    async def disconnected(self, a: uuid.UUID, b: uuid.UUID, at: datetime) -> None:
        await self.session.execute(text(
            "INSERT INTO connections (member_id, other_id, removed_at) VALUES (:a, :b, :t), (:b, :a, :t) "
            "ON CONFLICT (member_id, other_id) DO UPDATE SET removed_at = GREATEST(connections.removed_at, excluded.removed_at)"
        ), {"a": a, "b": b, "t": at})

    async def forget(self, member: uuid.UUID) -> None:
        await self.session.execute(text("DELETE FROM follows WHERE follower_id = :m OR followee_id = :m"), {"m": member})
        await self.session.execute(text("DELETE FROM connections WHERE member_id = :m OR other_id = :m"), {"m": member})


class Tallies:
    """Applies voting's tallies to the copy kept on posts and comments: one statement per tally, which
    changes nothing unless the tally is newer than the stored one."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    _SET = (
        "ups = :ups, downs = :downs, score = :score, trusted_score = COALESCE(CAST(:trusted AS double precision), trusted_score), "
        "rank_score = round(COALESCE(CAST(:trusted AS double precision), trusted_score, CAST(CAST(:score AS integer) AS double precision))), best = :best, controversial = :controversial, tally_version = :version"
    )

    async def apply_to_post(self, target: uuid.UUID, values: dict[str, Any]) -> None:
        # The post, then its topic entries, from the post's new ranks (hot from the effective score, in SQL).
        await self.session.execute(text(
            f"WITH p AS (UPDATE posts SET {self._SET}, hot = hot_rank(round(COALESCE(CAST(:trusted AS double precision), trusted_score, CAST(CAST(:score AS integer) AS double precision)))::int, created_at) "
            "WHERE id = :target AND tally_version < :version RETURNING id, hot, rank_score, best, controversial) "
            "UPDATE topic_posts tp SET hot = p.hot, rank_score = p.rank_score, best = p.best, controversial = p.controversial "
            "FROM p WHERE tp.post_id = p.id"
        ), {**values, "target": target})

    async def apply_to_comment(self, target: uuid.UUID, values: dict[str, Any]) -> None:
        await self.session.execute(text(f"UPDATE comments SET {self._SET} WHERE id = :target AND tally_version < :version"),
                                   {**values, "target": target})

    # The same, for a batch: one statement per table, each target at most once (its latest tally).
    _SET_MANY = (
        "ups = x.ups, downs = x.downs, score = x.score, trusted_score = COALESCE(x.trusted, t.trusted_score), "
        "rank_score = round(COALESCE(x.trusted, t.trusted_score, x.score)), best = x.best, controversial = x.controversial, "
        "tally_version = x.version"
    )
    _ROWS = ("unnest(CAST(:ids AS uuid[]), CAST(:ups AS int[]), CAST(:downs AS int[]), CAST(:scores AS int[]), "
             "CAST(:trusted AS float8[]), CAST(:versions AS int8[]), CAST(:best AS float8[]), CAST(:controversial AS float8[])) "
             "AS x(id, ups, downs, score, trusted, version, best, controversial)")

    async def apply_many(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """`rows`: the values apply_to_post/apply_to_comment take, plus `target`; distinct targets."""
        if not rows:
            return
        params = {
            "ids": [r["target"] for r in rows], "ups": [r["ups"] for r in rows], "downs": [r["downs"] for r in rows],
            "scores": [r["score"] for r in rows], "trusted": [r["trusted"] for r in rows], "versions": [r["version"] for r in rows],
            "best": [r["best"] for r in rows], "controversial": [r["controversial"] for r in rows],
        }
        if kind == "post":
            sql = (f"WITH p AS (UPDATE posts t SET {self._SET_MANY}, hot = hot_rank(round(COALESCE(x.trusted, t.trusted_score, x.score))::int, t.created_at) "
                   f"FROM {self._ROWS} WHERE t.id = x.id AND t.tally_version < x.version RETURNING t.id, t.hot, t.rank_score, t.best, t.controversial) "
                   "UPDATE topic_posts tp SET hot = p.hot, rank_score = p.rank_score, best = p.best, controversial = p.controversial "
                   "FROM p WHERE tp.post_id = p.id")
        else:
            sql = f"UPDATE comments t SET {self._SET_MANY} FROM {self._ROWS} WHERE t.id = x.id AND t.tally_version < x.version"
        await self.session.execute(text(sql), params)


async def anonymise(session: AsyncSession, member: uuid.UUID) -> None:
    for sql in (
        "UPDATE posts SET author_id = NULL WHERE author_id = :m",
        "UPDATE comments SET author_id = NULL WHERE author_id = :m",
        "UPDATE shares SET sharer_id = NULL WHERE sharer_id = :m",
        "UPDATE post_revisions SET editor_id = NULL WHERE editor_id = :m",
    ):
        await session.execute(text(sql), {"m": member})
    await Network(session).forget(member)
