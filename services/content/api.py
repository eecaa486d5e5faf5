"""Content's HTTP routes (thin: parse, call the service, shape the answer). Reads are public; writes need a member."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AfterValidator
from sqlalchemy.ext.asyncio import AsyncSession

from services.content import service
from services.content.schemas import (
    CommentCreate, CommentRead, CommentThread, FeedPage, PostCreate, PostHistory, PostRead, PostUpdate, ReplyPage, ShareCreate, SharePage,
    ShareRead,
    SortComments, SortPosts, Topic, Window, plain_text,
)
from services.kit.auth import Principal
from services.kit.web import current_member, error_responses, session

router = APIRouter(prefix="/v1", tags=["content"])


def _rules(request: Request) -> service.Rules:
    s = request.app.state.settings
    return service.Rules(duplicate_link_window=timedelta(hours=s.duplicate_link_window_hours), max_comment_depth=s.max_comment_depth)


rules = Depends(_rules)
Limit = Annotated[int, Query(ge=1, le=100, description="items per page")]
CursorParam = Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page")]


@router.post("/posts", status_code=201, response_model=PostRead, responses=error_responses(400, 401, 409, 413, 422))
async def create_post(body: PostCreate, me: Principal = current_member, db: AsyncSession = session, r: service.Rules = rules) -> PostRead:
    """Publish a post under 1-5 topics. A link already posted within the duplicate window answers 409
    `duplicate_link` with `detail.existing_post_id`."""
    return service.post_read(await service.create_post(db, me.member_id, body, r))


@router.get("/posts/{post_id}", response_model=PostRead, responses=error_responses(404, 422))
async def get_post(post_id: uuid.UUID, db: AsyncSession = session) -> PostRead:
    """A post; a deleted one answers with `deleted: true` and no title, body or link."""
    return service.post_read(await service.get_post(db, post_id))


@router.patch("/posts/{post_id}", response_model=PostRead, responses=error_responses(400, 401, 403, 404, 410, 422))
async def update_post(post_id: uuid.UUID, body: PostUpdate, me: Principal = current_member, db: AsyncSession = session) -> PostRead:
    """Edit a post's title, body or topics (its author only); the previous text stays in the history."""
    return service.post_read(await service.update_post(db, post_id, me.member_id, body))


@router.delete("/posts/{post_id}", status_code=204, responses=error_responses(401, 403, 404, 410, 422))
async def delete_post(post_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Delete a post (its author only). It still answers GET as deleted; its comments stay."""
    await service.delete_post(db, post_id, me.member_id)
    return Response(status_code=204)


@router.get("/posts/{post_id}/history", response_model=PostHistory, responses=error_responses(404, 410, 422))
async def post_history(post_id: uuid.UUID, db: AsyncSession = session) -> PostHistory:
    return await service.post_history(db, post_id)


@router.post("/posts/{post_id}/comments", status_code=201, response_model=CommentRead, responses=error_responses(400, 401, 404, 410, 413, 422))
async def create_comment(post_id: uuid.UUID, body: CommentCreate, me: Principal = current_member, db: AsyncSession = session, r: service.Rules = rules) -> CommentRead:
    """Comment on a post, or reply to one of its comments (`parent_id`)."""
    return service.comment_read(await service.create_comment(db, post_id, me.member_id, body, r))


@router.get("/posts/{post_id}/comments", response_model=CommentThread, responses=error_responses(400, 404, 422))
async def comment_thread(
    post_id: uuid.UUID,
    db: AsyncSession = session,
    sort: SortComments = "best",
    depth: Annotated[int, Query(ge=1, le=10, description="levels of the tree returned")] = 4,
    limit: Annotated[int, Query(ge=1, le=100, description="comments at the first level")] = 20,
    replies: Annotated[int, Query(ge=1, le=50, description="replies shown per comment below the first level")] = 5,
    cursor: CursorParam = None,
) -> CommentThread:
    """A page of the comment tree. `next_cursor` continues the first level; a comment's `more.cursor` opens
    its further replies (as the first level of the answer)."""
    return await service.comment_thread(db, post_id, sort=sort, depth=depth, limit=limit, replies=replies, cursor=cursor)


@router.delete("/comments/{comment_id}", status_code=204, responses=error_responses(401, 403, 404, 410, 422))
async def delete_comment(comment_id: uuid.UUID, me: Principal = current_member, db: AsyncSession = session) -> Response:
    """Delete a comment (its author only): it shows as deleted, its replies stay."""
    await service.delete_comment(db, comment_id, me.member_id)
    return Response(status_code=204)


@router.post("/posts/{post_id}/shares", status_code=201, response_model=ShareRead, responses=error_responses(400, 401, 404, 409, 410, 422))
async def share_post(post_id: uuid.UUID, body: ShareCreate, me: Principal = current_member, db: AsyncSession = session) -> ShareRead:
    """Reshare a post with an optional comment (once per member and post)."""
    return await service.share_post(db, post_id, me.member_id, body)


@router.get("/comments/replies", response_model=ReplyPage, responses=error_responses(400, 401, 422))
async def replies_to_me(me: Principal = current_member, db: AsyncSession = session, limit: Limit = 25, cursor: CursorParam = None) -> ReplyPage:
    """Comments others wrote on my posts and replies to my comments, newest first (deleted ones left out)."""
    return await service.replies_to(db, me.member_id, limit=limit, cursor=cursor)


@router.get("/posts/{post_id}/shares", response_model=SharePage, responses=error_responses(400, 404, 410, 422))
async def list_shares(post_id: uuid.UUID, db: AsyncSession = session, limit: Limit = 25, cursor: CursorParam = None) -> SharePage:
    """Who shared a post, and what they said, newest first."""
    return await service.list_shares(db, post_id, limit=limit, cursor=cursor)


SortParam = Annotated[SortPosts, Query(description="hot | new | top | best | controversial | rising")]
WindowParam = Annotated[Window, Query(description="for top and controversial")]


@router.get("/feeds/all", response_model=FeedPage, responses=error_responses(400, 422))
async def feed_all(db: AsyncSession = session, sort: SortParam = "hot", window: WindowParam = "day", limit: Limit = 25, cursor: CursorParam = None) -> FeedPage:
    return await service.feed(db, "all", sort=sort, window=window, limit=limit, cursor=cursor)


@router.get("/topics/{topic}/posts", response_model=FeedPage, responses=error_responses(400, 422))
async def feed_topic(topic: Annotated[Topic, Path()], db: AsyncSession = session, sort: SortParam = "hot", window: WindowParam = "day",
                     limit: Limit = 25, cursor: CursorParam = None) -> FeedPage:
    return await service.feed(db, "topic", sort=sort, window=window, limit=limit, cursor=cursor, topic=topic)


@router.get("/feeds/members/{member_id}", response_model=FeedPage, responses=error_responses(400, 422))
async def feed_member(member_id: uuid.UUID, db: AsyncSession = session, sort: Annotated[SortPosts, Query(description="new (default) | hot | top | ...")] = "new",
                      window: WindowParam = "all", limit: Limit = 25, cursor: CursorParam = None) -> FeedPage:
    """The posts a member wrote (not their shares), newest first by default; deleted posts are not listed."""
    return await service.feed(db, "member", sort=sort, window=window, limit=limit, cursor=cursor, author=member_id)


@router.get("/feeds/network", response_model=FeedPage, responses=error_responses(400, 401, 422))
async def feed_network(me: Principal = current_member, db: AsyncSession = session, sort: SortParam = "new", window: WindowParam = "day",
                       limit: Limit = 25, cursor: CursorParam = None) -> FeedPage:
    """Posts by, and shared by, the members you follow or are connected to."""
    return await service.feed(db, "network", sort=sort, window=window, limit=limit, cursor=cursor, member=me.member_id)


@router.get("/feeds/hot-connections", response_model=FeedPage, responses=error_responses(400, 401, 422))
async def feed_hot_connections(me: Principal = current_member, db: AsyncSession = session, sort: SortParam = "hot", window: WindowParam = "day",
                               limit: Limit = 25, cursor: CursorParam = None) -> FeedPage:
    """What is hot among your connections: posts they wrote or shared, hottest first."""
    return await service.feed(db, "hot-connections", sort=sort, window=window, limit=limit, cursor=cursor, member=me.member_id)


@router.get("/search/posts", response_model=FeedPage, responses=error_responses(400, 422))
async def search_posts(q: Annotated[str, Query(min_length=1, max_length=200, description="words, \"a phrase\", -excluded, or"), AfterValidator(plain_text)],
                       db: AsyncSession = session, limit: Limit = 25, cursor: CursorParam = None) -> FeedPage:
    """Full-text search over titles (weighted most), topics and bodies, best match first."""
    return await service.search(db, q, limit=limit, cursor=cursor)
