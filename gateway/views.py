"""Aggregated views: one request from a client app, a concurrent fan-out to the services, one answer.

    GET /v1/views/home                 a feed page + author cards + scores + the viewer's votes
    GET /v1/views/posts/{post_id}      a post + its comment tree + authors + the viewer's votes
    GET /v1/views/members/{member_id}  a profile as the viewer may see it + degree and mutuals + recent posts + karma
    GET /v1/views/notifications        invitations, introductions and integrity alerts waiting for the member

Each view has one essential call (the feed page, the post, the profile, the invitations). When it fails
the view fails the same way: the service's own 4xx (status, code and message kept), or the gateway's 502
`upstream_unavailable` / `circuit_open` / 504 `upstream_timeout`. Every other call is enrichment, made
concurrently through the same shared upstream clients (deadline, retries, circuit breaker of
gateway.upstreams) and bounded by `GATEWAY_VIEW_ENRICHMENT_SECONDS` from the start of the view: what fails
or is late is left out (null) and named in `warnings` ({"code": "scores_unavailable", "upstream":
"voting", "reason": "upstream_timeout"}), and the view answers 200 with the rest.

A process works on at most `GATEWAY_VIEW_MAX_IN_FLIGHT` views at once; the next is refused at once with
503 `overloaded` and Retry-After, rather than queued behind work its client may have given up on.

Calls carry the caller as the proxy presents them (gateway.forwarding): the service that owns the data
applies its visibility rules for this viewer, so a view never shows more than the services would.
Anonymous viewers get the views without their personal parts (votes, degree), which are not fetched.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote, urlencode

import httpx
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.config import Settings
from gateway.forwarding import VIEW_REQUEST_HEADERS, upstream_headers
from gateway.identity import authenticate, require
from gateway.streams.channels import TAG
from gateway.upstreams import Answer, Upstream
from gateway.view_models import (
    AuthorCard, Comment, Degree, HomeItem, HomeView, IntegrityAlert, Introduction, IntroductionNote, Invitation, MemberView,
    NotificationsView, Post, PostView, Profile, RecentPost, Reply, Scores, ViewWarning,
)
from services.kit.auth import Principal
from services.kit.errors import AgoraError, BadGateway, Unprocessable
from services.kit.web import ErrorBody, error_responses

log = logging.getLogger("agora.gateway.views")


class Overloaded(AgoraError):
    status, code = 503, "overloaded"


async def _admitted(request: Request) -> AsyncIterator[None]:
    """At most `view_max_in_flight` views at once per process; the next is refused at once (503, Retry-After).

    A view costs several upstream calls: past capacity, queueing more only makes every view late, and work
    for clients that gave up keeps the gateway busy after the burst (measured: a 300 views/s burst on a
    machine that serves ~40 left the gateway answering nothing in time for a minute after it ended)."""
    state = request.app.state
    settings: Settings = state.settings
    in_flight = getattr(state, "views_in_flight", 0)
    if in_flight >= settings.view_max_in_flight:
        raise Overloaded("the gateway is at capacity for views; retry in a moment", headers={"Retry-After": "1"})
    state.views_in_flight = in_flight + 1
    try:
        yield
    finally:
        state.views_in_flight -= 1


router = APIRouter(prefix="/v1/views", tags=["views"], dependencies=[Depends(_admitted, scope="function")])


def view_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {**error_responses(*statuses), 503: {"model": ErrorBody, "description": "Too many views in flight (`overloaded`); see Retry-After"}}
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

KEPT_ERROR_HEADERS = ("retry-after", "www-authenticate")
# Parts of the views that no upstream offers yet (see docs/gateway.md "Aggregated views").
TALLY_CHANGES = "tally_changes"
BATCH = 100  # targets per batch read of voting (GET /v1/tallies, /v1/votes/mine/batch, /v1/tallies/network)


class UpstreamRefused(AgoraError):
    """An essential call answered with an error: the view answers with the upstream's status, code and message."""

    def __init__(self, service: str, response: Answer) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        headers = {k: v for k, v in response.headers.items() if k.lower() in KEPT_ERROR_HEADERS}
        super().__init__(str(body.get("message") or f"{service} answered {response.status_code}"), detail=body.get("detail"),
                         code=str(body.get("error") or "upstream_error"), headers=headers)
        self.status = response.status_code


class Fanout:
    """The upstream calls of one view, made for one caller, and what went missing."""

    def __init__(self, request: Request, principal: Principal | None) -> None:
        self.request = request
        self.principal = principal
        self.upstreams: dict[str, Upstream] = request.app.state.upstreams
        settings: Settings = request.app.state.settings
        self.deadline = asyncio.get_running_loop().time() + settings.view_enrichment_seconds
        self._warnings: dict[tuple[str, str], ViewWarning] = {}

    @property
    def warnings(self) -> list[ViewWarning]:
        return list(self._warnings.values())

    def warn(self, code: str, service: str, reason: str) -> None:
        self._warnings.setdefault((code, service), ViewWarning(code=code, upstream=service, reason=reason))  # type: ignore[arg-type]

    async def get(self, service: str, path: str, query: dict[str, Any] | None = None) -> Answer:
        headers = upstream_headers(self.request, self.principal, service, copy=VIEW_REQUEST_HEADERS)
        params = urlencode({k: v for k, v in (query or {}).items() if v is not None}, doseq=True)
        return await self.upstreams[service].request("GET", path, query=params, headers=headers)

    async def essential(self, service: str, path: str, model: type[M], query: dict[str, Any] | None = None) -> M:
        """The view's own subject: any failure is the view's failure, in the upstream's terms."""
        response = await self.get(service, path, query)
        if response.status_code != 200:
            raise UpstreamRefused(service, response)
        try:
            return model.model_validate_json(response.content)
        except ValidationError:
            log.warning("%s GET %s answered a body the gateway cannot read", service, path)
            raise BadGateway(f"{service} answered in an unexpected shape") from None

    async def optional(self, code: str, service: str, path: str, model: type[M], query: dict[str, Any] | None = None,
                       *, absent: Iterable[int] = (404,)) -> M | None:
        """Enrichment: the parsed answer, or None — with a warning unless the status means 'there is none'."""
        try:
            async with asyncio.timeout_at(self.deadline):
                response = await self.get(service, path, query)
        except TimeoutError:
            self.warn(code, service, "view_deadline")
            return None
        except AgoraError as exc:  # 502 upstream_unavailable / circuit_open, 504 upstream_timeout
            self.warn(code, service, exc.code)
            return None
        if response.status_code != 200:
            if response.status_code not in absent:
                self.warn(code, service, f"status_{response.status_code}")
            return None
        try:
            return model.model_validate_json(response.content)
        except ValidationError:
            self.warn(code, service, "bad_answer")
            return None


# --- the parts every view shares ---------------------------------------------------------------------

class _Tally(BaseModel):
    target_id: uuid.UUID
    ups: int
    downs: int
    score: int
    trusted_score: float
    version: int


class _MyVote(BaseModel):
    target_id: uuid.UUID
    value: Literal[-1, 0, 1]


class _Tallies(BaseModel):
    items: list[_Tally]


class _MyVotes(BaseModel):
    items: list[_MyVote]


class _Network(BaseModel):
    target_id: uuid.UUID
    connections_voted: int | None


class _Networks(BaseModel):
    items: list[_Network]


class _Profiles(BaseModel):
    items: list[Profile]


class _ContentScores(BaseModel):
    ups: int
    downs: int
    score: int
    trusted_score: float | None = None


class _Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class _Raw(BaseModel):
    model_config = ConfigDict(extra="allow")


def _chunks(ids: list[uuid.UUID]) -> list[list[str]]:
    unique = [str(i) for i in dict.fromkeys(ids)]
    return [unique[i:i + BATCH] for i in range(0, len(unique), BATCH)]


async def scores_of(f: Fanout, posts: list[tuple[uuid.UUID, dict[str, Any]]]) -> list[Scores]:
    """Voting's tallies (one call per 100 posts); content's copy where voting cannot say (down, slow, or not
    yet aware of the post)."""
    pages = await each(f.optional("scores_unavailable", "voting", "/v1/tallies", _Tallies, {"target_id": c})
                       for c in _chunks([p for p, _ in posts]))
    tallies = {t.target_id: t for page in pages if page is not None for t in page.items}
    out = []
    for post_id, raw in posts:
        t = tallies.get(post_id)
        out.append(content_scores(raw) if t is None else
                   Scores(ups=t.ups, downs=t.downs, score=t.score, trusted_score=t.trusted_score, version=t.version, source="voting"))
    return out


async def my_votes(f: Fanout, target_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The viewer's votes (one call per 100 targets); empty when anonymous or unavailable (with a warning)."""
    if f.principal is None or not target_ids:
        return {}
    pages = await each(f.optional("votes_unavailable", "voting", "/v1/votes/mine/batch", _MyVotes, {"target_id": c}, absent=())
                       for c in _chunks(target_ids))
    return {v.target_id: v.value for page in pages if page is not None for v in page.items}


async def network_votes(f: Fanout, target_ids: list[uuid.UUID]) -> dict[uuid.UUID, int | None]:
    """How many of the viewer's connections vote on each target (voting says null below 3)."""
    if f.principal is None or not target_ids:
        return {}
    pages = await each(f.optional("network_votes_unavailable", "voting", "/v1/tallies/network", _Networks, {"target_id": c}, absent=())
                       for c in _chunks(target_ids))
    return {n.target_id: n.connections_voted for page in pages if page is not None for n in page.items}


async def author_cards(f: Fanout, member_ids: Iterable[uuid.UUID], into: dict[uuid.UUID, AuthorCard]) -> None:
    """Cards of members not in `into` yet, each as this viewer may see them (a deleted account has none):
    one profiles call per 100 members."""
    wanted = [m for m in dict.fromkeys(member_ids) if m not in into]
    pages = await each(f.optional("authors_unavailable", "profiles", "/v1/profiles", _Profiles, {"member_id": c}) for c in _chunks(wanted))
    for page in pages:
        for p in page.items if page is not None else ():
            into[p.member_id] = AuthorCard(member_id=p.member_id, handle=p.handle, display_name=p.display_name, headline=p.headline,
                                           relation=p.relation, trust_level=p.trust.level, karma=p.trust.karma)


def posts_of(items: list[dict[str, Any]]) -> list[Post]:
    try:
        return [Post.model_validate(i) for i in items]
    except ValidationError:
        raise BadGateway("content answered in an unexpected shape") from None


def content_scores(raw: dict[str, Any]) -> Scores:
    try:
        copy = _ContentScores.model_validate(raw)
    except ValidationError:
        raise BadGateway("content answered in an unexpected shape") from None
    return Scores(ups=copy.ups, downs=copy.downs, score=copy.score, trusted_score=copy.trusted_score, source="content")


async def each(calls: Iterable[Awaitable[T]]) -> list[T]:
    return list(await asyncio.gather(*calls))


async def alongside(essential: Awaitable[T], *optional: Awaitable[Any]) -> tuple[T, list[Any]]:
    """Run the essential call and the enrichment at once; if the essential call fails, the enrichment is
    cancelled and the failure is the view's. (Optional parts never raise: they warn.)"""
    tasks = [asyncio.ensure_future(o) for o in optional]
    try:
        value = await essential
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return value, list(await asyncio.gather(*tasks))


# --- GET /v1/views/home ------------------------------------------------------------------------------

Feed = Literal["all", "topic", "network", "hot-connections"]
Sort = Literal["hot", "new", "top", "best", "controversial", "rising"]
Window = Literal["hour", "day", "week", "month", "year", "all"]


@router.get("/home", response_model=HomeView, responses=view_errors(400, 401, 422, 502, 504),
             openapi_extra={"x-agora-auth": "optional"})
async def home(
    request: Request,
    feed: Annotated[Feed, Query(description="all | topic (with ?topic=) | network, hot-connections (signed in)")] = "all",
    topic: Annotated[str | None, Query(max_length=41, description="the topic of feed=topic")] = None,
    sort: Sort = "hot",
    window: Annotated[Window, Query(description="for top and controversial")] = "day",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page")] = None,
) -> HomeView:
    """A feed page with everything a home screen shows: each post with its author's card, its raw and trusted
    scores, and the viewer's own vote. Essential: content (its errors are this view's)."""
    principal = await authenticate(request)
    f = Fanout(request, principal)
    if feed == "topic":
        if not topic:
            raise Unprocessable("topic: required with feed=topic", code="invalid")
        tag = topic.strip().lstrip("#").lower()  # as content normalises it
        if not TAG.match(tag):
            raise Unprocessable("topic: 1-40 letters, digits and '-' (a leading '#' is ignored)", code="invalid_topic")
        path = f"/v1/topics/{quote(tag, safe='')}/posts"
    elif topic is not None:
        raise Unprocessable("topic: only with feed=topic", code="invalid")
    else:
        path = f"/v1/feeds/{feed}"
    page = await f.essential("content", path, _Page, {"sort": sort, "window": window, "limit": limit, "cursor": cursor})
    posts = posts_of(page.items)
    authors: dict[uuid.UUID, AuthorCard] = {}
    ids = [p.id for p in posts]
    scores, votes, network, _ = await asyncio.gather(
        scores_of(f, [(p.id, raw) for p, raw in zip(posts, page.items)]),
        my_votes(f, ids),
        network_votes(f, ids),
        author_cards(f, (p.author_id for p in posts if p.author_id), authors),
    )
    items = [HomeItem(post=p, scores=s, my_vote=votes.get(p.id), connections_voted=network.get(p.id)) for p, s in zip(posts, scores)]
    return HomeView(feed=feed if feed != "topic" else f"topic:{topic}", sort=sort, items=items, authors=authors,
                    next_cursor=page.next_cursor, warnings=f.warnings, unsupported=[])


# --- GET /v1/views/posts/{post_id} -------------------------------------------------------------------

class _Thread(BaseModel):
    comments: list[Comment]
    next_cursor: str | None = None


def walk(comments: list[Comment]) -> Iterable[Comment]:
    for c in comments:
        yield c
        yield from walk(c.replies)


@router.get("/posts/{post_id}", response_model=PostView, responses=view_errors(401, 404, 422, 502, 504),
             openapi_extra={"x-agora-auth": "optional"})
async def post_page(
    request: Request,
    post_id: uuid.UUID,
    sort: Literal["best", "top", "new", "old", "controversial"] = "best",
    depth: Annotated[int, Query(ge=1, le=10)] = 4,
    limit: Annotated[int, Query(ge=1, le=100, description="top-level comments")] = 20,
    replies: Annotated[int, Query(ge=1, le=50, description="replies shown per comment")] = 5,
) -> PostView:
    """A post page: the post with its scores and author, its comment tree with every commenter's card, and the
    viewer's votes on the post and on each comment shown. Essential: the post (content)."""
    principal = await authenticate(request)
    f = Fanout(request, principal)
    raw = (await f.essential("content", f"/v1/posts/{post_id}", _Raw)).model_dump()
    post = posts_of([raw])[0]
    authors: dict[uuid.UUID, AuthorCard] = {}

    async def thread() -> _Thread | None:
        t = await f.optional("comments_unavailable", "content", f"/v1/posts/{post_id}/comments", _Thread,
                             {"sort": sort, "depth": depth, "limit": limit, "replies": replies})
        if t is not None:
            shown = list(walk(t.comments))
            votes, _ = await asyncio.gather(my_votes(f, [c.id for c in shown]),
                                            author_cards(f, (c.author_id for c in shown if c.author_id), authors))
            for c in shown:
                c.my_vote = votes.get(c.id) if f.principal is not None else None
        return t

    first = author_cards(f, [post.author_id] if post.author_id else [], authors)
    scores, vote, network, _, t = await asyncio.gather(scores_of(f, [(post.id, raw)]), my_votes(f, [post.id]), network_votes(f, [post.id]),
                                                       first, thread())
    return PostView(post=post, scores=scores[0], my_vote=vote.get(post.id), connections_voted=network.get(post.id),
                    comments=None if t is None else t.comments, comments_next_cursor=None if t is None else t.next_cursor,
                    authors=authors, warnings=f.warnings, unsupported=[])


# --- GET /v1/views/members/{member_id} ---------------------------------------------------------------

@router.get("/members/{member_id}", response_model=MemberView, responses=view_errors(401, 404, 422, 502, 504),
             openapi_extra={"x-agora-auth": "optional"})
async def member_page(request: Request, member_id: uuid.UUID,
                      posts: Annotated[int, Query(ge=1, le=25, description="recent posts shown")] = 5) -> MemberView:
    """A member's page: their profile as the viewer may see it (karma included), how the viewer is connected to
    them (degree, mutual connections; signed in only) and their newest posts. Essential: the profile (profiles).
    All three calls go out at once; a failed profile call cancels the others."""
    principal = await authenticate(request)
    f = Fanout(request, principal)

    async def degree() -> Degree | None:
        if principal is None:
            return None
        return await f.optional("degree_unavailable", "connections", f"/v1/degrees/{member_id}", Degree)

    async def recent() -> list[RecentPost] | None:
        page = await f.optional("posts_unavailable", "content", f"/v1/feeds/members/{member_id}", _Page, {"limit": posts})
        if page is None:
            return None
        try:
            return [RecentPost(post=p, scores=content_scores(raw)) for p, raw in zip(posts_of(page.items), page.items)]
        except BadGateway:
            f.warn("posts_unavailable", "content", "bad_answer")
            return None

    profile, (degree_of, recent_posts) = await alongside(f.essential("profiles", f"/v1/profiles/{member_id}", Profile), degree(), recent())
    return MemberView(profile=profile, karma=profile.trust.karma, degree=degree_of, recent_posts=recent_posts, warnings=f.warnings)


# --- GET /v1/views/notifications ---------------------------------------------------------------------

class _Invitations(BaseModel):
    items: list[Invitation]


class _Introductions(BaseModel):
    items: list[Introduction]


class _Replies(BaseModel):
    items: list[Reply]


class _Summary(BaseModel):
    votes: int
    reduced: int
    not_counted: int
    summary: str


@router.get("/notifications", response_model=NotificationsView, responses=view_errors(401, 422, 502, 504),
             openapi_extra={"x-agora-auth": "required"})
async def notifications(request: Request, limit: Annotated[int, Query(ge=1, le=50, description="items per kind")] = 20,
                        ) -> NotificationsView:
    """What waits for the signed-in member: invitations to answer, introductions to make or answer, replies to
    their posts and comments (with the repliers' cards), and their recent posts on which voting discounted
    votes. Essential: the invitations (connections). Tally changes have no listing (`unsupported`): the `me`
    stream carries them live."""
    me = require(await authenticate(request), "notifications")
    f = Fanout(request, me)

    async def introductions() -> list[IntroductionNote] | None:
        asked, forwarded = await asyncio.gather(
            f.optional("introductions_unavailable", "connections", "/v1/introductions", _Introductions, {"role": "introducer", "limit": limit}),
            f.optional("introductions_unavailable", "connections", "/v1/introductions", _Introductions, {"role": "target", "limit": limit}),
        )
        if asked is None or forwarded is None:
            return None
        notes = [IntroductionNote(action="introduce", introduction=i) for i in asked.items if i.status == "requested"]
        notes += [IntroductionNote(action="respond", introduction=i) for i in forwarded.items if i.status == "forwarded"]
        return sorted(notes, key=lambda n: n.introduction.created_at, reverse=True)

    async def integrity_alerts() -> list[IntegrityAlert] | None:
        mine = await f.optional("integrity_unavailable", "content", f"/v1/feeds/members/{me.member_id}", _Page, {"limit": limit})
        if mine is None:
            return None
        try:
            posts = posts_of(mine.items)
        except BadGateway:
            f.warn("integrity_unavailable", "content", "bad_answer")
            return None
        summaries = await each(f.optional("integrity_unavailable", "voting", f"/v1/tallies/{p.id}/summary", _Summary) for p in posts)
        return [IntegrityAlert(post_id=p.id, title=p.title, votes=s.votes, reduced=s.reduced, not_counted=s.not_counted, summary=s.summary)
                for p, s in zip(posts, summaries) if s is not None and (s.reduced or s.not_counted)]

    authors: dict[uuid.UUID, AuthorCard] = {}

    async def replies() -> list[Reply] | None:
        page = await f.optional("replies_unavailable", "content", "/v1/comments/replies", _Replies, {"limit": limit})
        if page is None:
            return None
        await author_cards(f, (r.author_id for r in page.items if r.author_id), authors)
        return page.items

    invitations, (intros, alerts, answers) = await alongside(
        f.essential("connections", "/v1/invitations", _Invitations, {"direction": "in", "status": "pending", "limit": limit}),
        introductions(), integrity_alerts(), replies(),
    )
    return NotificationsView(invitations=invitations.items, introductions=intros, integrity_alerts=alerts, replies=answers,
                             authors=authors, warnings=f.warnings, unsupported=[TALLY_CHANGES])
