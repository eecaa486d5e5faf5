"""Content's request and response bodies. Requests are strict (unknown fields -> 422); every field has a length limit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints, model_validator

from services.content import links
from services.kit.web import Model

MAX_TITLE, MAX_BODY, MAX_COMMENT, MAX_SHARE_COMMENT = 300, 40_000, 10_000, 1_000


def _normalise_topic(value: Any) -> Any:
    # "#Python " and "python" are one topic; anything beyond letters, digits and '-' is refused below.
    return value.strip().lstrip("#").lower() if isinstance(value, str) else value


def _safe_link(value: str) -> str:
    return links.normalise(value)


def plain_text(value: str | None) -> str | None:
    # PostgreSQL text holds neither NUL nor lone surrogates: refuse them here rather than fail on insert.
    if value is not None:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


Topic = Annotated[str, BeforeValidator(_normalise_topic), StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
Topics = Annotated[list[Topic], Field(min_length=1, max_length=5, description="1-5 tags: letters, digits and '-', up to 40 characters; case and a leading '#' are ignored")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE), AfterValidator(plain_text)]
Markdown = Annotated[str, StringConstraints(max_length=MAX_BODY), AfterValidator(plain_text)]
Link = Annotated[str, StringConstraints(max_length=links.MAX_URL_LENGTH), AfterValidator(plain_text), AfterValidator(_safe_link)]
Kind = Literal["article", "link", "video", "image", "news", "question", "story", "joke"]
NEEDS_URL = ("link", "video", "image")
NEEDS_BODY = ("article", "story")


def _distinct(topics: list[str]) -> None:
    if len(set(topics)) != len(topics):
        raise ValueError("topics must not repeat (case and '#' are ignored)")


class PostCreate(Model):
    kind: Kind
    title: Title
    body: Markdown | None = Field(None, description="Markdown; raw HTML is shown as text; links must be http(s)")
    url: Link | None = Field(None, description="http(s) only; required for link, video and image posts")
    topics: Topics

    @model_validator(mode="after")
    def _kind_fields(self) -> "PostCreate":
        if self.kind in NEEDS_URL and self.url is None:
            raise ValueError(f"a {self.kind} post needs a url")
        if self.kind in NEEDS_BODY and not (self.body or "").strip():
            raise ValueError(f"an {self.kind} post needs a body" if self.kind == "article" else f"a {self.kind} post needs a body")
        _distinct(self.topics)
        return self


class PostUpdate(Model):
    """An edit: any of title, body, topics. The link and the kind of a post never change."""

    title: Title | None = None
    body: Markdown | None = None
    topics: Topics | None = None

    @model_validator(mode="after")
    def _something(self) -> "PostUpdate":
        if not self.model_fields_set:
            raise ValueError("an edit changes at least one of title, body, topics")
        if "title" in self.model_fields_set and self.title is None:
            raise ValueError("a post keeps a title")
        if "topics" in self.model_fields_set and self.topics is None:
            raise ValueError("a post keeps 1-5 topics")
        if self.topics is not None:
            _distinct(self.topics)
        return self


class Ranks(BaseModel):
    hot: float
    best: float
    controversial: float


class PostRead(BaseModel):
    id: uuid.UUID
    author_id: uuid.UUID | None = Field(description="null once the author's account is deleted")
    kind: str
    title: str | None = Field(description="null when the post is deleted")
    body: str | None
    body_html: str | None = Field(description="the body rendered to sanitised HTML")
    url: str | None
    topics: list[str]
    created_at: datetime
    updated_at: datetime | None
    revision: int
    deleted: bool
    deleted_at: datetime | None
    ups: int
    downs: int
    score: int
    trusted_score: float | None = Field(description="Σ value × weight of the votes as voting's checks weighed them (null before the first tally)")
    comment_count: int
    share_count: int
    ranks: Ranks


class DuplicateLink(BaseModel):
    existing_post_id: uuid.UUID
    url: str


class Revision(BaseModel):
    revision: int
    title: str
    body: str | None
    topics: list[str]
    editor_id: uuid.UUID | None
    created_at: datetime


class PostHistory(BaseModel):
    post_id: uuid.UUID
    revisions: list[Revision] = Field(description="oldest first; the last one is the current text")


class FeedPage(BaseModel):
    items: list[PostRead]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class CommentCreate(Model):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_COMMENT), AfterValidator(plain_text)]
    parent_id: uuid.UUID | None = Field(None, description="the comment this replies to; null for a top-level comment")


class MoreReplies(BaseModel):
    count: int = Field(description="replies not shown here")
    cursor: str = Field(description="GET .../comments?cursor= this, with the same sort, for the next replies")


class CommentRead(BaseModel):
    id: uuid.UUID
    post_id: uuid.UUID
    parent_id: uuid.UUID | None
    author_id: uuid.UUID | None = Field(description="null when the comment is deleted or its author's account is")
    depth: int
    body: str | None = Field(description="null when the comment is deleted")
    body_html: str | None
    created_at: datetime
    deleted: bool
    ups: int
    downs: int
    score: int
    reply_count: int
    ranks: Ranks
    replies: list["CommentRead"] = Field(default_factory=list)
    more: MoreReplies | None = None


class CommentThread(BaseModel):
    post_id: uuid.UUID
    parent_id: uuid.UUID | None = Field(description="whose replies `comments` are; null for the top level")
    sort: str
    comments: list[CommentRead]
    next_cursor: str | None = Field(description="the next page of `comments` (same parent)")


class ShareCreate(Model):
    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SHARE_COMMENT), AfterValidator(plain_text)] | None = None


class ShareRead(BaseModel):
    id: uuid.UUID
    post_id: uuid.UUID
    sharer_id: uuid.UUID | None
    comment: str | None
    comment_html: str | None
    created_at: datetime
    share_count: int = Field(description="the post's shares, this one included")


class ShareEntry(BaseModel):
    id: uuid.UUID
    sharer_id: uuid.UUID | None
    comment: str | None
    comment_html: str | None
    created_at: datetime


class ReplyPage(BaseModel):
    items: list[CommentRead] = Field(description="comments by others on my posts and replies to my comments, newest first")
    next_cursor: str | None


class SharePage(BaseModel):
    post_id: uuid.UUID
    share_count: int
    items: list[ShareEntry]
    next_cursor: str | None


SortPosts = Literal["hot", "new", "top", "best", "controversial", "rising"]
SortComments = Literal["best", "top", "new", "old", "controversial"]
Window = Literal["hour", "day", "week", "month", "year", "all"]
