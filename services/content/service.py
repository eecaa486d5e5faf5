"""Content's rules: posts and their edits, comment trees, shares, feeds and search.

Each function runs inside the caller's transaction and writes the event announcing a change into the
outbox in that same transaction. Errors are `kit.errors`: the route renders them in the common shape.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.content import cursors, events, links, ranking, rendering
from services.content.models import Comment, Post, Share, outbox as outbox_rows
from services.content.repository import COMMENT_SORTS, POST_SORTS, Comments, Feeds, Posts, Shares
from services.content.schemas import (
    CommentCreate, CommentRead, CommentThread, FeedPage, MoreReplies, PostCreate, PostHistory, PostRead, PostUpdate, Ranks,
    ReplyPage, Revision, ShareCreate, ShareEntry, SharePage, ShareRead,
)
from services.kit.errors import BadRequest, Conflict, Forbidden, Gone, NotFound, Unprocessable
from services.kit.outbox import Outbox

outbox = Outbox(outbox_rows, source="agora/content")
PATH_SEGMENT = 6  # base-36 digits per comment path segment: 2.1 billion comments per post


@dataclass(frozen=True)
class Rules:
    duplicate_link_window: timedelta
    max_comment_depth: int


def now() -> datetime:
    return datetime.now(UTC)


async def render(source: str, field: str) -> str:
    """Markdown to safe HTML in a worker thread (CPU-bound; see rendering.render_checked); an unsafe link is a 422."""
    try:
        return await asyncio.to_thread(rendering.render_checked, source)
    except rendering.UnsafeMarkdown as exc:
        raise Unprocessable(f"{field}: {exc}", detail=[{"loc": ["body", field], "message": str(exc), "type": "unsafe_link"}]) from None


# ---------------------------------------------------------------- reading models out


def post_read(p: Any) -> PostRead:
    """A post as readers see it (ORM object or listing row); a deleted post keeps only its frame."""
    get = p.__getitem__ if not isinstance(p, Post) else lambda name: getattr(p, name)
    deleted = get("deleted_at") is not None
    return PostRead(
        id=get("id"), author_id=get("author_id"), kind=get("kind"),
        title=None if deleted else get("title"), body=None if deleted else get("body"),
        body_html=None if deleted else get("body_html"), url=None if deleted else get("url"),
        topics=get("topics"), created_at=get("created_at"), updated_at=get("updated_at"), revision=get("revision"),
        deleted=deleted, deleted_at=get("deleted_at"), ups=get("ups"), downs=get("downs"), score=get("score"),
        trusted_score=get("trusted_score"), comment_count=get("comment_count"), share_count=get("share_count"),
        ranks=Ranks(hot=get("hot"), best=get("best"), controversial=get("controversial")),
    )


def comment_read(c: Any) -> CommentRead:
    get = c.__getitem__ if not isinstance(c, Comment) else lambda name: getattr(c, name)
    deleted = get("deleted_at") is not None
    return CommentRead(
        id=get("id"), post_id=get("post_id"), parent_id=get("parent_id"), author_id=None if deleted else get("author_id"), depth=get("depth"),
        body=None if deleted else get("body"), body_html=None if deleted else get("body_html"), created_at=get("created_at"),
        deleted=deleted, ups=get("ups"), downs=get("downs"), score=get("score"), reply_count=get("reply_count"),
        ranks=Ranks(hot=0.0, best=get("best"), controversial=get("controversial")),
    )


def _json_key(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _sql_key(value: Any, expression: str) -> Any:
    if expression.endswith("created_at"):
        return _aware(datetime.fromisoformat(value))
    if expression.endswith("rank_score"):
        if not isinstance(value, int) or not -(2**31) <= value < 2**31:
            raise ValueError("not a score")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a rank")
    return float(value)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _after(cursor: cursors.Cursor | None, expression: str) -> tuple[Any, uuid.UUID] | None:
    if cursor is None or cursor.key is None:
        return None
    try:
        return _sql_key(cursor.key, expression), uuid.UUID(cursor.last_id)
    except (ValueError, TypeError):
        raise BadRequest("the cursor is malformed; use the next_cursor of a previous page as is", code="bad_cursor") from None


def _newest_first(listing: str, rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """A page of rows fetched newest first (limit + 1 of them, to know whether more follow) and the cursor
    of the next page: the last row's (created_at, id)."""
    page = rows[:limit]
    if len(rows) <= limit:
        return page, None
    return page, cursors.Cursor(listing, page[-1].created_at.isoformat(), str(page[-1].id), now().isoformat()).encode()


def _as_of(cursor: cursors.Cursor | None) -> datetime:
    if cursor is None:
        return now()
    try:
        return _aware(datetime.fromisoformat(cursor.as_of))
    except ValueError:
        raise BadRequest("the cursor is malformed; use the next_cursor of a previous page as is", code="bad_cursor") from None


# ---------------------------------------------------------------- posts


async def create_post(session: AsyncSession, author: uuid.UUID, data: PostCreate, rules: Rules) -> Post:
    posts = Posts(session)
    body_html = await render(data.body, "body") if data.body else None
    url_key = links.duplicate_key(data.url) if data.url else None
    at = now()
    if url_key and rules.duplicate_link_window > timedelta(0):
        await posts.lock_link(url_key)  # two submissions of one link at once: the second waits and sees the first
        existing = await posts.recent_with_link(url_key, at - rules.duplicate_link_window)
        if existing is not None:
            raise Conflict(
                f"this link was already posted on {existing.created_at:%Y-%m-%d}; join that discussion instead",
                code="duplicate_link", detail={"existing_post_id": str(existing.id), "url": existing.url},
            )
    post = await posts.add(Post(
        id=uuid.uuid4(), author_id=author, kind=data.kind, title=data.title, body=data.body,
        body_html=body_html, url=data.url, url_key=url_key, topics=data.topics,
        created_at=at, revision=1, hot=ranking.hot(0, at), ups=0, downs=0, score=0, rank_score=0, tally_version=0,
        best=0.0, controversial=0.0, comment_count=0, comment_seq=0, share_count=0,
    ), author)
    await posts.index_topics(post.id)
    await outbox.publish(
        session, events.POST_CREATED,
        events.PostCreated(post_id=post.id, author_id=author, kind=post.kind, topics=post.topics, created_at=post.created_at,
                           title=post.title, url=post.url),
        key=str(post.id), subject=str(post.id),
    )
    return post


async def get_post(session: AsyncSession, post_id: uuid.UUID) -> Post:
    post = await Posts(session).get(post_id)
    if post is None:
        raise NotFound(f"post {post_id} not found", code="post_not_found")
    return post


async def _own_live_post(session: AsyncSession, post_id: uuid.UUID, me: uuid.UUID) -> Post:
    post = await Posts(session).get(post_id, for_update=True)
    if post is None:
        raise NotFound(f"post {post_id} not found", code="post_not_found")
    if post.author_id != me:
        raise Forbidden("only the author can change this post", code="not_author")
    if post.deleted_at is not None:
        raise Gone("this post was deleted", code="post_deleted")
    return post


async def update_post(session: AsyncSession, post_id: uuid.UUID, me: uuid.UUID, data: PostUpdate) -> Post:
    post = await _own_live_post(session, post_id, me)
    changes = data.model_dump(include=data.model_fields_set)
    if "body" in changes and post.kind in ("article", "story") and not (changes["body"] or "").strip():
        raise Unprocessable(f"a {post.kind} post keeps a body", code="invalid")
    if all(getattr(post, k) == v for k, v in changes.items()):
        return post  # nothing changes: no revision, no event
    if "body" in changes:
        post.body_html = await render(changes["body"], "body") if changes["body"] else None
    for k, v in changes.items():
        setattr(post, k, v)
    post.revision += 1
    post.updated_at = now()
    await Posts(session).add_revision(post, me)
    if "topics" in changes:
        await Posts(session).index_topics(post.id)
    await outbox.publish(
        session, events.POST_UPDATED,
        events.PostUpdated(post_id=post.id, author_id=me, topics=post.topics, updated_at=post.updated_at, revision=post.revision, title=post.title),
        key=str(post.id), subject=str(post.id),
    )
    return post


async def delete_post(session: AsyncSession, post_id: uuid.UUID, me: uuid.UUID) -> None:
    post = await _own_live_post(session, post_id, me)
    post.deleted_at = now()
    await session.flush()
    await Posts(session).unindex_topics(post.id)
    await outbox.publish(
        session, events.POST_DELETED, events.PostDeleted(post_id=post.id, author_id=me, deleted_at=post.deleted_at),
        key=str(post.id), subject=str(post.id),
    )


async def post_history(session: AsyncSession, post_id: uuid.UUID) -> PostHistory:
    post = await get_post(session, post_id)
    if post.deleted_at is not None:
        raise Gone("this post was deleted; its history is no longer shown", code="post_deleted")
    revisions = await Posts(session).revisions(post_id)
    return PostHistory(post_id=post_id, revisions=[
        Revision(revision=r.revision, title=r.title, body=r.body, topics=r.topics, editor_id=r.editor_id, created_at=r.created_at)
        for r in revisions
    ])


# ---------------------------------------------------------------- comments


def _segment(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(PATH_SEGMENT, "0")


async def create_comment(session: AsyncSession, post_id: uuid.UUID, me: uuid.UUID, data: CommentCreate, rules: Rules) -> Comment:
    comments = Comments(session)
    body_html = await render(data.body, "body")
    parent = None
    if data.parent_id is not None:
        parent = await comments.get(data.parent_id)
        if parent is None:
            raise NotFound(f"comment {data.parent_id} (the parent) not found", code="parent_not_found")
        if parent.post_id != post_id:
            raise Unprocessable(f"comment {data.parent_id} belongs to another post", code="parent_elsewhere")
        if parent.deleted_at is not None:
            raise Gone("the comment you reply to was deleted", code="parent_deleted")
        if parent.depth + 1 > rules.max_comment_depth:
            raise Unprocessable(f"replies nest at most {rules.max_comment_depth} levels deep; reply higher up the thread", code="too_deep")
    slot = await Posts(session).take_comment_slot(post_id)
    if slot is None:
        raise NotFound(f"post {post_id} not found", code="post_not_found")
    seq, deleted_at, post_author = slot
    if deleted_at is not None:
        raise Gone("this post was deleted; it takes no new comments", code="post_deleted")
    if parent is not None:
        await comments.count_reply(parent.id)
    comment = await comments.add(Comment(
        id=uuid.uuid4(), post_id=post_id, parent_id=data.parent_id, author_id=me,
        path=(parent.path if parent else "") + _segment(seq), depth=parent.depth + 1 if parent else 0,
        body=data.body, body_html=body_html, created_at=now(), reply_count=0,
        reply_to=parent.author_id if parent is not None else post_author,
        ups=0, downs=0, score=0, rank_score=0, tally_version=0, best=0.0, controversial=0.0,
    ))
    await outbox.publish(
        session, events.COMMENT_CREATED,
        events.CommentCreated(comment_id=comment.id, post_id=post_id, parent_id=comment.parent_id, author_id=me,
                              created_at=comment.created_at, depth=comment.depth),
        key=str(post_id), subject=str(post_id),
    )
    return comment


async def delete_comment(session: AsyncSession, comment_id: uuid.UUID, me: uuid.UUID) -> None:
    comments = Comments(session)
    comment = await comments.get(comment_id, for_update=True)
    if comment is None:
        raise NotFound(f"comment {comment_id} not found", code="comment_not_found")
    if comment.author_id != me:
        raise Forbidden("only the author can delete this comment", code="not_author")
    if comment.deleted_at is not None:
        raise Gone("this comment was already deleted", code="comment_deleted")
    comment.deleted_at = now()
    await session.flush()
    await Posts(session).count_comment_removed(comment.post_id)
    await outbox.publish(
        session, events.COMMENT_DELETED,
        events.CommentDeleted(comment_id=comment.id, post_id=comment.post_id, author_id=me, deleted_at=comment.deleted_at),
        key=str(comment.post_id), subject=str(comment.post_id),
    )


async def comment_thread(
    session: AsyncSession, post_id: uuid.UUID, *, sort: str, depth: int, limit: int, replies: int, cursor: str | None,
) -> CommentThread:
    """One page of a parent's replies (the post's top level by default), each with up to `depth - 1` levels of
    its own replies (`replies` per parent). A comment whose replies are not all shown carries a `more` cursor."""
    await get_post(session, post_id)
    listing = f"comments:{post_id}:{sort}"
    cur = cursors.decode(cursor, listing) if cursor else None
    as_of = _as_of(cur)
    key_expr = COMMENT_SORTS[sort][0]
    comments = Comments(session)
    parent_id: uuid.UUID | None = None
    base_depth = 0
    if cur is not None and cur.extra.get("p"):
        try:
            parent_id = uuid.UUID(cur.extra["p"])
        except (ValueError, TypeError):
            raise BadRequest("the cursor is malformed; use it as it was given", code="bad_cursor") from None
        parent = await comments.get(parent_id)
        if parent is None or parent.post_id != post_id:
            raise NotFound("the comment this cursor continues was not found", code="comment_not_found")
        base_depth = parent.depth + 1
    rows = await comments.siblings(post_id, parent_id, sort, _after(cur, key_expr), limit + 1)
    page, has_more = rows[:limit], len(rows) > limit

    def cursor_for(parent: uuid.UUID | None, last: Any) -> str:
        key_column = key_expr.split(".")[1]
        key = _json_key(last[key_column]) if last is not None else None
        return cursors.Cursor(listing, key, str(last["id"]) if last is not None else "", as_of.isoformat(),
                              {"p": str(parent)} if parent else {}).encode()

    nodes: dict[uuid.UUID, tuple[CommentRead, Any]] = {}
    top = []
    for row in page:
        node = comment_read(row)
        nodes[row["id"]] = (node, None)
        top.append(node)
    if depth > 1 and page:
        for row in await comments.descendants(post_id, [r["path"] for r in page], base_depth, depth - 1, sort, replies):
            if row["parent_id"] not in nodes:
                continue  # its parent was cut off by the per-parent limit
            parent_node, _ = nodes[row["parent_id"]]
            node = comment_read(row)
            parent_node.replies.append(node)
            nodes[row["parent_id"]] = (parent_node, row)  # remembers the last reply shown
            nodes[row["id"]] = (node, None)
    for node, last_reply in nodes.values():
        hidden = node.reply_count - len(node.replies)
        if hidden > 0:
            node.more = MoreReplies(count=hidden, cursor=cursor_for(node.id, last_reply))
    return CommentThread(
        post_id=post_id, parent_id=parent_id, sort=sort, comments=top,
        next_cursor=cursor_for(parent_id, page[-1]) if has_more else None,
    )


# ---------------------------------------------------------------- shares


async def share_post(session: AsyncSession, post_id: uuid.UUID, me: uuid.UUID, data: ShareCreate) -> ShareRead:
    post = await get_post(session, post_id)
    if post.deleted_at is not None:
        raise Gone("this post was deleted; it cannot be shared", code="post_deleted")
    comment_html = await render(data.comment, "comment") if data.comment else None
    shares = Shares(session)
    if await shares.exists(post_id, me):
        raise Conflict("you already shared this post", code="already_shared")
    share = await shares.add(Share(id=uuid.uuid4(), post_id=post_id, sharer_id=me, comment=data.comment,
                                   comment_html=comment_html, created_at=now()))
    count = await Posts(session).count_share(post_id)
    await outbox.publish(
        session, events.POST_SHARED,
        events.PostShared(share_id=share.id, post_id=post_id, sharer_id=me, shared_at=share.created_at, post_author_id=post.author_id),
        key=str(post_id), subject=str(post_id),
    )
    return ShareRead(id=share.id, post_id=post_id, sharer_id=me, comment=share.comment, comment_html=share.comment_html,
                     created_at=share.created_at, share_count=count)


async def replies_to(session: AsyncSession, me: uuid.UUID, *, limit: int, cursor: str | None) -> ReplyPage:
    listing = f"replies:{me}"
    cur = cursors.decode(cursor, listing) if cursor else None
    page, next_cursor = _newest_first(listing, await Comments(session).replies_to(me, _after(cur, "created_at"), limit + 1), limit)
    return ReplyPage(items=[comment_read(c) for c in page], next_cursor=next_cursor)


async def list_shares(session: AsyncSession, post_id: uuid.UUID, *, limit: int, cursor: str | None) -> SharePage:
    post = await get_post(session, post_id)
    if post.deleted_at is not None:
        raise Gone("this post was deleted; its shares are no longer shown", code="post_deleted")
    listing = f"shares:{post_id}"
    cur = cursors.decode(cursor, listing) if cursor else None
    page, next_cursor = _newest_first(listing, await Shares(session).page(post_id, _after(cur, "created_at"), limit + 1), limit)
    return SharePage(post_id=post_id, share_count=post.share_count, next_cursor=next_cursor, items=[
        ShareEntry(id=s.id, sharer_id=s.sharer_id, comment=s.comment, comment_html=s.comment_html, created_at=s.created_at) for s in page
    ])


# ---------------------------------------------------------------- feeds and search


async def feed(
    session: AsyncSession, name: str, *, sort: str, window: str, limit: int, cursor: str | None,
    topic: str | None = None, member: uuid.UUID | None = None, author: uuid.UUID | None = None,
) -> FeedPage:
    """A ranked listing. `top` and `controversial` honour the window; `rising` looks at the last 24 hours."""
    listing = f"feed:{name}:{topic or author or ''}:{sort}:{window if sort in ('top', 'controversial') else ''}"
    cur = cursors.decode(cursor, listing) if cursor else None
    as_of = _as_of(cur)
    if sort in ("top", "controversial"):
        since = ranking.window_start(window, as_of)
    elif sort == "rising":
        since = as_of - ranking.RISING_WINDOW
    else:
        since = ranking.window_start("all", as_of)
    rows = await Feeds(session).page(
        sort=sort, since=since, as_of=as_of, after=_after(cur, POST_SORTS[sort]), limit=limit + 1, topic=topic,
        window_first=sort == "rising" or (sort in ("top", "controversial") and window in ("hour", "day", "week")),
        network_of=member, circle="connections" if name == "hot-connections" else "network", author=author,
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = cursors.Cursor(listing, _json_key(last["sort_key"]), str(last["id"]), as_of.isoformat()).encode()
    return FeedPage(items=[post_read(r) for r in page], next_cursor=next_cursor)


async def search(session: AsyncSession, query: str, *, limit: int, cursor: str | None) -> FeedPage:
    listing = f"search:{query}"
    cur = cursors.decode(cursor, listing) if cursor else None
    after = None
    if cur is not None:
        try:
            after = (_sql_key(cur.key, "rank"), uuid.UUID(cur.last_id))
        except (TypeError, ValueError):
            raise BadRequest("the cursor is malformed; use the next_cursor of a previous page as is", code="bad_cursor") from None
    rows = await Feeds(session).search(query, after, limit + 1)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = cursors.Cursor(listing, page[-1]["sort_key"], str(page[-1]["id"]), now().isoformat()).encode()
    return FeedPage(items=[post_read(r) for r in page], next_cursor=next_cursor)
