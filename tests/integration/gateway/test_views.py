"""The aggregated views through the gateway, on the real profiles, connections and content apps (in-process,
real database) and a stand-in for voting (a tally needs voting's consumers; tests/e2e covers the real one).

Each upstream sits behind a switch that can take it down (connection refused) or stall it, so a test can
show what a view does when that upstream fails: essential → the view fails in its terms; enrichment →
200 with what is left and a warning naming what is missing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.main import create_app
from services.kit.events import CloudEvent
from tests.conftest import AppClient

PASSWORD = "correct horse battery"
SECRET_HEADLINE = "Headline only connections may read"
SECRET_CITY = "A city only connections may read"


class Switch(httpx.AsyncBaseTransport):
    """An upstream that is up, down (connection refused) or stalled (accepts, never answers)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.mode = "up"
        self.calls: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "stalled":
            await asyncio.sleep(60)
        return await self.inner.handle_async_request(request)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.calls]

    async def aclose(self) -> None:
        pass  # the app behind it is shared by the module's tests


@dataclass
class FakeVoting:
    """Voting's read endpoints with its real shapes (TallyRead, MyVoteRead, TallySummary)."""

    tallies: dict[str, dict[str, Any]] = field(default_factory=dict)
    votes: dict[tuple[str, str], int] = field(default_factory=dict)  # (voter, target) -> value
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    network: dict[tuple[str, str], int] = field(default_factory=dict)  # (viewer, target) -> connections who voted

    def handle(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        targets = request.url.params.get_list("target_id")
        member = request.headers.get("x-agora-member-id", "")
        if request.url.path == "/v1/tallies":
            return httpx.Response(200, json={"items": [{"target_id": t, **self.tallies[t], "score": self.tallies[t]["ups"] - self.tallies[t]["downs"]}
                                                       for t in targets if t in self.tallies]})
        if request.url.path == "/v1/votes/mine/batch":
            return httpx.Response(200, json={"items": [
                {"target_id": t, "value": v, "vote_id": str(uuid.uuid4()) if v else None, "cast_at": datetime.now(UTC).isoformat() if v else None}
                for t in targets for v in [self.votes.get((member, t), 0)]]})
        if request.url.path == "/v1/tallies/network":
            return httpx.Response(200, json={"items": [{"target_id": t, "connections_voted": self.network.get((member, t))} for t in targets]})
        if parts[:2] == ["v1", "tallies"] and len(parts) == 3:
            t = self.tallies.get(parts[2])
            if t is None:
                return httpx.Response(404, json={"error": "target_not_found", "message": "unknown target"})
            return httpx.Response(200, json={"target_id": parts[2], **t, "score": t["ups"] - t["downs"]})
        if parts[:2] == ["v1", "tallies"] and parts[3:] == ["summary"]:
            s = self.summaries.get(parts[2])
            if s is None:
                return httpx.Response(404, json={"error": "target_not_found", "message": "unknown target"})
            return httpx.Response(200, json={"target_id": parts[2], "reasons": [], "score": 0, "trusted_score": 0.0, **s})
        if request.url.path == "/v1/votes/mine":
            voter, target = request.headers.get("x-agora-member-id", ""), request.url.params["target_id"]
            value = self.votes.get((voter, target), 0)
            return httpx.Response(200, json={"target_id": target, "value": value, "vote_id": str(uuid.uuid4()) if value else None,
                                             "cast_at": datetime.now(UTC).isoformat() if value else None})
        return httpx.Response(404, json={"error": "not_found", "message": "no such route"})


@dataclass
class Cast:
    author: uuid.UUID
    friend: uuid.UUID    # connected to the author (and to the viewer)
    viewer: uuid.UUID    # a member, not connected to the author: 2nd degree through the friend
    inviter: uuid.UUID   # has a pending invitation to the viewer
    topic: str
    post: str
    comment: str
    reply: str


def event(event_type: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(id=str(uuid.uuid4()), source="agora/tests", type=event_type, time=datetime.now(UTC), data=data)


@pytest.fixture(scope="module")
async def apps(settings_for: Callable[..., Any]) -> AsyncIterator[dict[str, AppClient]]:
    from services.connections.main import create_app as connections_app
    from services.content.main import create_app as content_app
    from services.profiles.main import create_app as profiles_app

    opened = {
        "profiles": AppClient(profiles_app(settings_for("profiles", argon2_time_cost=1, argon2_memory_kib=64, argon2_parallelism=1))),
        "connections": AppClient(connections_app(settings_for("connections"))),
        "content": AppClient(content_app(settings_for("content"))),
    }
    for a in opened.values():
        await a.__aenter__()
    yield opened
    for a in opened.values():
        await a.__aexit__(None, None, None)


@pytest.fixture(scope="module")
def voting() -> FakeVoting:
    return FakeVoting()


@pytest.fixture(scope="module")
async def cast(apps: dict[str, AppClient], voting: FakeVoting, issuer: Any) -> Cast:
    from services.connections import handlers as connections_handlers
    from services.profiles import handlers as profiles_handlers

    profiles, connections, content = (apps[n].http for n in ("profiles", "connections", "content"))
    ids: dict[str, uuid.UUID] = {}
    for name in ("author", "friend", "viewer", "inviter"):
        handle = f"{name}_{uuid.uuid4().hex[:8]}"
        r = await profiles.post("/v1/accounts", json={"email": f"{handle}@example.org", "handle": handle, "password": PASSWORD})
        assert r.status_code == 201, r.text
        ids[name] = uuid.UUID(r.json()["id"])
        async with apps["connections"].app.state.sessions() as s, s.begin():  # connections learns of members from profiles' events
            await connections_handlers.on_registered(s, event("profile.registered", {
                "member_id": str(ids[name]), "handle": handle, "registered_at": datetime.now(UTC).isoformat()}))
    auth = {n: issuer.headers(m) for n, m in ids.items()}
    r = await profiles.patch("/v1/profiles/me", headers=auth["author"], json={
        "display_name": "Ada", "headline": SECRET_HEADLINE, "location": SECRET_CITY, "visibility": {"headline": "connections", "location": "connections"}})
    assert r.status_code == 200, r.text

    for a, b in (("friend", "author"), ("friend", "viewer")):  # connected in connections (via invitations) and in profiles' read model
        r = await connections.post("/v1/invitations", json={"to_id": str(ids[b])}, headers=auth[a])
        assert r.status_code == 201, r.text
        r = await connections.post(f"/v1/invitations/{r.json()['invitation_id']}/accept", headers=auth[b])
        assert r.status_code == 200, r.text
        async with apps["profiles"].app.state.sessions() as s, s.begin():
            await profiles_handlers.on_connection_made(s, event("connection.made", {
                "a_id": str(ids[a]), "b_id": str(ids[b]), "provenance": "invitation", "made_at": datetime.now(UTC).isoformat()}))
    r = await connections.post("/v1/invitations", json={"to_id": str(ids["viewer"]), "note": "Let's connect"}, headers=auth["inviter"])
    assert r.status_code == 201, r.text

    topic = f"views-{uuid.uuid4().hex[:8]}"
    r = await content.post("/v1/posts", json={"kind": "question", "title": "Views?", "topics": [topic]}, headers=auth["author"])
    assert r.status_code == 201, r.text
    post = r.json()["id"]
    r = await content.post(f"/v1/posts/{post}/comments", json={"body": "A comment"}, headers=auth["friend"])
    assert r.status_code == 201, r.text
    comment = r.json()["id"]
    r = await content.post(f"/v1/posts/{post}/comments", json={"body": "A reply", "parent_id": comment}, headers=auth["viewer"])
    assert r.status_code == 201, r.text
    reply = r.json()["id"]

    voting.tallies[post] = {"ups": 3, "downs": 1, "trusted_score": 1.5, "version": 4}
    voting.votes[(str(ids["viewer"]), post)] = 1
    voting.votes[(str(ids["viewer"]), comment)] = -1
    voting.network[(str(ids["viewer"]), post)] = 3
    voting.summaries[post] = {"votes": 4, "counted": 2, "reduced": 0, "not_counted": 2, "summary": "4 votes, 2 not counted: burst"}
    return Cast(**ids, topic=topic, post=post, comment=comment, reply=reply)


@dataclass
class Gateway:
    http: httpx.AsyncClient
    upstreams: dict[str, Switch]


@pytest.fixture
def gateway(apps: dict[str, AppClient], voting: FakeVoting, settings_for: Callable[..., Any]) -> Callable[..., Any]:
    """A fresh gateway (fresh circuit breakers) in front of the module's upstreams, each behind its own switch."""

    @asynccontextmanager
    async def open_gateway(**overrides: Any) -> AsyncIterator[Gateway]:
        switches = {n: Switch(httpx.ASGITransport(app=a.app)) for n, a in apps.items()}
        switches["voting"] = Switch(httpx.MockTransport(voting.handle))
        settings = settings_for("gateway", **{"streams_enabled": False, "rate_limits_enabled": False, "upstream_retries": 0,
                                              "view_enrichment_seconds": 1.0, **overrides})
        app = create_app(settings, upstream_transports=switches)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30) as client:
                yield Gateway(client, switches)

    return open_gateway


def home_url(cast: Cast) -> str:
    return f"/v1/views/home?feed=topic&topic={cast.topic}&sort=new"


# --- shapes, visibility, anonymous vs signed in ------------------------------------------------------

async def test_home_shows_each_post_with_its_author_scores_and_the_viewers_vote(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway() as gw:
        r = await gw.http.get(home_url(cast), headers=issuer.headers(cast.viewer))
        assert r.status_code == 200, r.text
        body = r.json()
        (item,) = body["items"]
        assert item["post"]["id"] == cast.post and item["post"]["title"] == "Views?" and item["post"]["author_id"] == str(cast.author)
        assert item["scores"] == {"ups": 3, "downs": 1, "score": 2, "trusted_score": 1.5, "version": 4, "source": "voting"}
        assert item["my_vote"] == 1 and item["connections_voted"] == 3
        card = body["authors"][str(cast.author)]
        assert card["display_name"] == "Ada" and card["relation"] == "member" and isinstance(card["karma"], int)
        assert card["headline"] is None and SECRET_HEADLINE not in r.text  # connections-only: not for this viewer
        assert body["feed"] == f"topic:{cast.topic}" and body["next_cursor"] is None
        assert body["warnings"] == [] and body["unsupported"] == []
        # one call each for the page's scores, votes and connections' votes, whatever the number of posts
        assert sorted(gw.upstreams["voting"].paths()) == ["/v1/tallies", "/v1/tallies/network", "/v1/votes/mine/batch"]
        assert gw.upstreams["profiles"].paths() == ["/v1/profiles"]  # every author card in one call

        # The viewer's own credentials reached voting and profiles; a client cannot pose as another member.
        mine = next(c for c in gw.upstreams["voting"].calls if c.url.path == "/v1/votes/mine/batch")
        assert mine.headers["x-agora-member-id"] == str(cast.viewer) and mine.headers["authorization"].startswith("Bearer ")
        assert mine.headers["traceparent"].split("-")[1] == r.headers["traceparent"].split("-")[1]

        r = await gw.http.get(home_url(cast), headers={**issuer.headers(cast.friend), "x-agora-member-id": str(cast.viewer)})
        assert r.json()["items"][0]["my_vote"] == 0  # the friend's own (none), not the viewer's
        assert r.json()["items"][0]["connections_voted"] is None
        assert r.json()["authors"][str(cast.author)]["headline"] == SECRET_HEADLINE  # a connection may read it


async def test_home_for_an_anonymous_viewer_has_no_personal_parts_and_asks_for_none(gateway: Any, cast: Cast) -> None:
    async with gateway() as gw:
        r = await gw.http.get(home_url(cast))
        assert r.status_code == 200, r.text
        (item,) = r.json()["items"]
        assert item["my_vote"] is None and item["scores"]["source"] == "voting"
        assert r.json()["authors"][str(cast.author)]["relation"] == "anonymous" and SECRET_HEADLINE not in r.text
        assert gw.upstreams["voting"].paths() == ["/v1/tallies"]  # nothing personal is asked for
        assert all("authorization" not in c.headers and "x-agora-member-id" not in c.headers for c in gw.upstreams["profiles"].calls)


async def test_post_page_has_the_comment_tree_every_author_and_the_viewers_votes(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway() as gw:
        r = await gw.http.get(f"/v1/views/posts/{cast.post}", headers=issuer.headers(cast.viewer))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["post"]["id"] == cast.post and body["scores"]["score"] == 2 and body["my_vote"] == 1
        (comment,) = body["comments"]
        (reply,) = comment["replies"]
        assert (comment["id"], comment["my_vote"], reply["id"], reply["my_vote"]) == (cast.comment, -1, cast.reply, 0)
        assert set(body["authors"]) == {str(cast.author), str(cast.friend), str(cast.viewer)}
        assert body["authors"][str(cast.viewer)]["relation"] == "owner"
        assert SECRET_HEADLINE not in r.text and body["warnings"] == []

        anonymous = (await gw.http.get(f"/v1/views/posts/{cast.post}")).json()
        assert anonymous["my_vote"] is None and anonymous["comments"][0]["my_vote"] is None


async def test_member_page_shows_the_profile_as_each_viewer_may_see_it(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway() as gw:
        url = f"/v1/views/members/{cast.author}"
        stranger = await gw.http.get(url, headers=issuer.headers(cast.viewer))
        assert stranger.status_code == 200, stranger.text
        body = stranger.json()
        assert body["profile"]["relation"] == "member" and body["profile"]["display_name"] == "Ada"
        assert body["profile"]["location"] is None and body["profile"]["headline"] is None
        assert SECRET_CITY not in stranger.text and SECRET_HEADLINE not in stranger.text
        assert body["karma"] == body["profile"]["trust"]["karma"]
        assert body["degree"]["degree"] == 2 and [m["member_id"] for m in body["degree"]["mutuals"]] == [str(cast.friend)]
        assert [p["post"]["id"] for p in body["recent_posts"]] == [cast.post] and body["recent_posts"][0]["scores"]["source"] == "content"
        assert body["warnings"] == []

        friend = (await gw.http.get(url, headers=issuer.headers(cast.friend))).json()
        assert friend["profile"]["location"] == SECRET_CITY and friend["degree"]["degree"] == 1

        calls_before = len(gw.upstreams["connections"].calls)
        anonymous = await gw.http.get(url)
        assert anonymous.json()["degree"] is None and anonymous.json()["profile"]["relation"] == "anonymous"
        assert SECRET_CITY not in anonymous.text and len(gw.upstreams["connections"].calls) == calls_before


async def test_notifications_list_what_waits_for_the_member(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway() as gw:
        r = await gw.http.get("/v1/views/notifications", headers=issuer.headers(cast.viewer))
        assert r.status_code == 200, r.text
        body = r.json()
        (invitation,) = body["invitations"]
        assert invitation["from_id"] == str(cast.inviter) and invitation["note"] == "Let's connect"
        assert body["introductions"] == [] and body["integrity_alerts"] == []
        assert body["replies"] == [] and body["unsupported"] == ["tally_changes"] and body["warnings"] == []

        author = (await gw.http.get("/v1/views/notifications", headers=issuer.headers(cast.author))).json()
        (alert,) = author["integrity_alerts"]
        assert alert["post_id"] == cast.post and alert["not_counted"] == 2 and alert["title"] == "Views?"
        (on_post,) = author["replies"]  # the friend's comment on the author's post (not the reply under it)
        assert (on_post["id"], on_post["parent_id"], on_post["author_id"]) == (cast.comment, None, str(cast.friend))
        assert author["authors"][str(cast.friend)]["relation"] == "connection"

        friend = (await gw.http.get("/v1/views/notifications", headers=issuer.headers(cast.friend))).json()
        assert [(r["id"], r["parent_id"]) for r in friend["replies"]] == [(cast.reply, cast.comment)]

        r = await gw.http.get("/v1/views/notifications")
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"


# --- resilience -----------------------------------------------------------------------------------

async def test_voting_down_still_answers_home_with_contents_scores_and_warnings(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway() as gw:
        gw.upstreams["voting"].mode = "down"
        r = await gw.http.get(home_url(cast), headers=issuer.headers(cast.viewer))
        assert r.status_code == 200, r.text
        body = r.json()
        (item,) = body["items"]
        assert item["scores"]["source"] == "content" and item["scores"]["version"] is None and item["my_vote"] is None
        assert str(cast.author) in body["authors"]
        assert {(w["code"], w["upstream"]) for w in body["warnings"]} == {
            ("scores_unavailable", "voting"), ("votes_unavailable", "voting"), ("network_votes_unavailable", "voting")}
        assert {w["reason"] for w in body["warnings"]} <= {"upstream_unavailable", "circuit_open"}


async def test_profiles_down_leaves_out_the_author_cards_only(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway() as gw:
        gw.upstreams["profiles"].mode = "down"
        r = await gw.http.get(f"/v1/views/posts/{cast.post}", headers=issuer.headers(cast.viewer))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["authors"] == {} and body["comments"][0]["id"] == cast.comment and body["my_vote"] == 1
        assert [(w["code"], w["upstream"], w["reason"]) for w in body["warnings"]] == [("authors_unavailable", "profiles", "upstream_unavailable")]


async def test_a_stalled_enrichment_upstream_costs_the_view_its_deadline_not_more(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway(view_enrichment_seconds=0.5) as gw:
        gw.upstreams["connections"].mode = "stalled"
        started = time.monotonic()
        r = await gw.http.get(f"/v1/views/members/{cast.author}", headers=issuer.headers(cast.viewer))
        assert time.monotonic() - started < 3.0
        assert r.status_code == 200, r.text
        assert r.json()["degree"] is None and r.json()["recent_posts"][0]["post"]["id"] == cast.post
        assert r.json()["warnings"] == [{"code": "degree_unavailable", "upstream": "connections", "reason": "view_deadline"}]


async def test_the_essential_upstream_failing_fails_the_view_in_its_terms(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway(upstream_timeout_seconds=0.3) as gw:
        viewer = issuer.headers(cast.viewer)
        r = await gw.http.get(f"/v1/views/posts/{uuid.uuid4()}", headers=viewer)
        assert r.status_code == 404 and r.json()["error"] == "post_not_found"  # content's own answer
        r = await gw.http.get(f"/v1/views/members/{uuid.uuid4()}", headers=viewer)
        assert r.status_code == 404
        r = await gw.http.get("/v1/views/home?feed=network")
        assert r.status_code == 401  # content's: the network feed needs a member
        r = await gw.http.get("/v1/views/home?feed=topic")
        assert r.status_code == 422
        for bad in ("a%2Fb", "..", "-x", "x" * 41):  # never forwarded into content's path (found by Schemathesis)
            r = await gw.http.get(f"/v1/views/home?feed=topic&topic={bad}")
            assert r.status_code == 422 and r.json()["error"] == "invalid_topic", bad

        gw.upstreams["content"].mode = "down"
        r = await gw.http.get(home_url(cast), headers=viewer)
        assert r.status_code == 502 and r.json()["error"] == "upstream_unavailable"
        gw.upstreams["profiles"].mode = "stalled"
        r = await gw.http.get(f"/v1/views/members/{cast.author}", headers=viewer)
        assert r.status_code == 504 and r.json()["error"] == "upstream_timeout"
        gw.upstreams["connections"].mode = "down"
        r = await gw.http.get("/v1/views/notifications", headers=viewer)
        assert r.status_code == 502

        r = await gw.http.get(home_url(cast), headers={"authorization": "Bearer not-a-token"})
        assert r.status_code == 401  # the gateway's own check, before any upstream call


async def test_views_past_the_in_flight_limit_are_refused_at_once_not_queued(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway(view_max_in_flight=1, view_enrichment_seconds=1.0) as gw:
        gw.upstreams["voting"].mode = "stalled"  # the first view waits for its deadline
        first = asyncio.create_task(gw.http.get(home_url(cast), headers=issuer.headers(cast.viewer)))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        second = await gw.http.get(f"/v1/views/members/{cast.author}")
        assert time.monotonic() - started < 0.5
        assert second.status_code == 503 and second.json()["error"] == "overloaded" and second.headers["retry-after"] == "1"
        assert (await first).status_code == 200
        gw.upstreams["voting"].mode = "up"
        assert (await gw.http.get(f"/v1/views/posts/{uuid.uuid4()}")).status_code == 404  # a failed view frees its slot too
        assert (await gw.http.get(f"/v1/views/members/{cast.author}")).status_code == 200


async def test_a_post_page_reads_the_viewers_votes_on_every_comment_in_one_call(gateway: Any, cast: Cast, issuer: Any) -> None:
    async with gateway() as gw:
        body = (await gw.http.get(f"/v1/views/posts/{cast.post}", headers=issuer.headers(cast.viewer))).json()
        (comment,) = body["comments"]
        assert comment["my_vote"] == -1 and comment["replies"][0]["my_vote"] == 0
        assert body["my_vote"] == 1 and body["connections_voted"] == 3 and body["warnings"] == []
        assert gw.upstreams["voting"].paths().count("/v1/votes/mine/batch") == 2  # the post's, and all comments' at once
