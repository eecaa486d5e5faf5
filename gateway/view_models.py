"""The bodies of the aggregated views (gateway/views.py).

The gateway keeps its own minimal copy of each upstream shape it reads (tolerant reader: fields it does
not know are ignored, so a service may add fields without breaking a view). Parts that are personal
(the viewer's votes, their degree to a member) are null for anonymous viewers; parts that an upstream
could not give in time are null and named in `warnings`; parts no upstream offers yet are named in
`unsupported`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Upstream = Literal["profiles", "connections", "content", "voting"]
Vote = Literal[-1, 0, 1]


class Reader(BaseModel):
    """A copy of an upstream shape: unknown fields are ignored, never an error."""

    model_config = ConfigDict(extra="ignore")


class ViewWarning(BaseModel):
    code: str = Field(description="what is missing: scores_unavailable, votes_unavailable, authors_unavailable, comments_unavailable, "
                                  "degree_unavailable, posts_unavailable, introductions_unavailable, integrity_unavailable")
    upstream: Upstream
    reason: str = Field(description="upstream_unavailable | upstream_timeout | circuit_open | view_deadline | bad_answer | status_<code> "
                                    "| too_many_comments")


class Post(Reader):
    id: uuid.UUID
    author_id: uuid.UUID | None
    kind: str
    title: str | None
    body: str | None = None
    body_html: str | None = None
    url: str | None = None
    topics: list[str]
    created_at: datetime
    updated_at: datetime | None = None
    revision: int = 1
    deleted: bool = False
    comment_count: int = 0
    share_count: int = 0


class Scores(BaseModel):
    ups: int
    downs: int
    score: int = Field(description="raw score: ups - downs")
    trusted_score: float | None = Field(description="the score with discounted votes reduced or left out (voting's integrity checks)")
    version: int | None = Field(None, description="the tally's version (voting); null when taken from content's copy")
    source: Literal["voting", "content"] = Field(description="voting: the tally itself; content: content's copy of it (voting did "
                                                              "not answer, or has not counted this post yet)")


class AuthorCard(BaseModel):
    """A member as the viewer may see them (profiles applies the field visibility for the viewer)."""

    member_id: uuid.UUID
    handle: str
    display_name: str | None
    headline: str | None
    relation: str = Field(description="how the viewer relates to the member: anonymous, member, connection, owner")
    trust_level: str
    karma: int


class HomeItem(BaseModel):
    post: Post
    scores: Scores
    my_vote: Vote | None = Field(description="the viewer's vote as tallied; null when anonymous or unavailable")
    connections_voted: int | None = Field(None, description="how many of the viewer's connections vote on the post (up or down); "
                                          "null when anonymous, unavailable, or fewer than 3 (a count never gives a vote away)")


class HomeView(BaseModel):
    feed: str
    sort: str
    items: list[HomeItem]
    authors: dict[uuid.UUID, AuthorCard] = Field(description="author cards by member id (absent: account deleted or unavailable)")
    next_cursor: str | None = Field(description="pass as ?cursor= (same feed, sort and window) for the next page")
    warnings: list[ViewWarning]
    unsupported: list[str] = Field(description="parts no upstream offers yet")


class MoreReplies(Reader):
    count: int
    cursor: str


class Comment(Reader):
    id: uuid.UUID
    parent_id: uuid.UUID | None
    author_id: uuid.UUID | None
    depth: int
    body: str | None
    body_html: str | None = None
    created_at: datetime
    deleted: bool = False
    ups: int
    downs: int
    score: int
    reply_count: int = 0
    replies: list["Comment"] = Field(default_factory=list)
    more: MoreReplies | None = None
    my_vote: Vote | None = Field(None, description="the viewer's vote on this comment; null when anonymous or unavailable")


class PostView(BaseModel):
    post: Post
    scores: Scores
    my_vote: Vote | None
    connections_voted: int | None = Field(None, description="how many of the viewer's connections vote on the post; null when "
                                          "anonymous, unavailable, or fewer than 3")
    comments: list[Comment] | None = Field(description="the comment tree (content's scores per comment); null when unavailable")
    comments_next_cursor: str | None = Field(description="GET /v1/posts/{id}/comments?cursor= for the next top-level comments")
    authors: dict[uuid.UUID, AuthorCard]
    warnings: list[ViewWarning]
    unsupported: list[str]


class Trust(Reader):
    level: str
    email_verified: bool
    karma: int
    member_since: datetime


class Profile(Reader):
    """Fields the viewer may not see are null (or empty), exactly as profiles answers them."""

    member_id: uuid.UUID
    handle: str
    relation: str
    display_name: str | None = None
    headline: str | None = None
    bio: str | None = None
    location: str | None = None
    company: str | None = None
    website: str | None = None
    skills: list[str] = []
    topics: list[str] = []
    trust: Trust


class MemberRef(Reader):
    member_id: uuid.UUID
    handle: str


class Degree(Reader):
    degree: Literal[0, 1, 2, 3] | None = Field(description="0 yourself, 1st, 2nd, 3rd; null when further")
    label: str
    mutual_count: int
    mutuals: list[MemberRef]
    path: list[MemberRef] | None = None


class RecentPost(BaseModel):
    post: Post
    scores: Scores


class MemberView(BaseModel):
    profile: Profile
    karma: int
    degree: Degree | None = Field(description="how the viewer is connected to the member; null when anonymous or unavailable")
    recent_posts: list[RecentPost] | None = Field(description="the member's newest posts (content's scores); null when unavailable")
    warnings: list[ViewWarning]


class Invitation(Reader):
    invitation_id: uuid.UUID
    from_id: uuid.UUID
    note: str | None = None
    created_at: datetime
    expires_at: datetime


class Introduction(Reader):
    introduction_id: uuid.UUID
    requester_id: uuid.UUID
    introducer_id: uuid.UUID
    target_id: uuid.UUID
    message: str
    forward_note: str | None = None
    status: str
    created_at: datetime


class IntroductionNote(BaseModel):
    action: Literal["introduce", "respond"] = Field(description="introduce: you were asked to make it; respond: it was forwarded to you")
    introduction: Introduction


class IntegrityAlert(BaseModel):
    post_id: uuid.UUID
    title: str | None
    votes: int
    reduced: int
    not_counted: int
    summary: str


class Reply(Reader):
    """A comment someone wrote on one of my posts, or in answer to one of my comments."""

    id: uuid.UUID
    post_id: uuid.UUID
    parent_id: uuid.UUID | None = Field(description="null: a comment on my post; else the comment of mine it answers")
    author_id: uuid.UUID | None
    body: str | None
    created_at: datetime


class NotificationsView(BaseModel):
    invitations: list[Invitation] = Field(description="invitations to connect waiting for your answer, newest first")
    introductions: list[IntroductionNote] | None = Field(description="introductions waiting for you; null when unavailable")
    integrity_alerts: list[IntegrityAlert] | None = Field(
        description="your recent posts on which some votes were reduced or not counted; null when unavailable")
    replies: list[Reply] | None = Field(description="comments on your posts and replies to your comments, newest first; null when unavailable")
    authors: dict[uuid.UUID, AuthorCard] = Field(default_factory=dict, description="cards of the replies' authors, as you may see them")
    warnings: list[ViewWarning]
    unsupported: list[str]
