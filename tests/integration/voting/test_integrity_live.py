"""The live checks with their context, on real processes: profile, connection, block and message events
reach voting's `events` consumer, which logs them; the tally consumer reads the log and decides votes
cast through the HTTP API with it. Then the decisions are explained: to the author (a summary, no
voters), to moderators (every decision, the findings), and on agora.integrity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from services.catalog import CONNECTIONS, CONTENT, CONVERSATIONS, INTEGRITY, PROFILES
from services.kit.events import CloudEvent
from tests.conftest import wait_until
from tests.integration.voting.conftest import Voting, produce, start_tally
from tests.support import processes
from tests.support.kafka import read_all


def _event(source: str, type_: str, subject: uuid.UUID, data: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    e = CloudEvent(id=str(uuid.uuid4()), source=source, type=type_, time=datetime.now(UTC), data=data, subject=str(subject))
    return str(subject).encode(), e.value(), e.headers()


def _post(post: uuid.UUID, author: uuid.UUID, at: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    return _event("agora/content", "post.created", post, {"post_id": str(post), "author_id": str(author), "kind": "text", "topics": [], "created_at": at})


def _linked(sender: uuid.UUID, recipients: list[uuid.UUID], post: uuid.UUID, at: datetime) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    conversation = uuid.uuid4()
    return _event("agora/connections", "message.post_linked", conversation, {
        "conversation_id": str(conversation), "message_id": str(uuid.uuid4()), "sender_id": str(sender),
        "recipient_ids": [str(r) for r in recipients], "post_id": str(post), "at": at.isoformat(),
    })


async def test_votes_are_decided_with_their_context_and_explained(voting: Voting, test_infra: Any, app_client: Any, issuer: Any) -> None:
    author, newbie, blocked, s1, s2, plain, late, friend = (uuid.uuid4() for _ in range(8))
    post, other_post = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    iso = now.isoformat()
    prefix, bootstrap = test_infra.prefix, test_infra.bootstrap
    await produce(bootstrap, CONTENT.qualified(prefix), [_post(post, author, iso), _post(other_post, author, iso)])
    await produce(bootstrap, PROFILES.qualified(prefix), [
        _event("agora/profiles", "profile.registered", newbie, {"member_id": str(newbie), "handle": "newbie", "registered_at": iso}),
    ])
    await produce(bootstrap, CONNECTIONS.qualified(prefix), [
        _event("agora/connections", "member.blocked", author, {"blocker_id": str(author), "blocked_id": str(blocked), "blocked_at": iso}),
        _event("agora/connections", "connection.made", author, {"a_id": str(author), "b_id": str(friend), "provenance": "invitation",
                                                                  "made_at": (now - timedelta(days=30)).isoformat()}),
    ])
    await produce(bootstrap, CONVERSATIONS.qualified(prefix), [_linked(author, [s1, s2], post, now - timedelta(minutes=5))])

    events = processes.start("voting-events", ["services.cli", "consume", "voting", "events"], test_infra.env)
    relay = processes.start("voting-relay", ["services.cli", "relay", "voting"], test_infra.env)
    tally = start_tally(test_infra, batch=50)
    try:
        events.wait_ready(90)
        relay.wait_ready(90)

        async def logged() -> bool:
            rows = await voting.fetch("SELECT kind, data FROM voting.context_log WHERE data->>'member' = $1 OR data->>'blocker' = $2 "
                                      "OR data->>'sender' = $2 OR data->>'a' = $2", str(newbie), str(author))
            kinds = sorted(r["kind"] for r in rows)
            known = await voting.fetch("SELECT 1 FROM voting.targets WHERE target_id = ANY($1::uuid[])", [post, other_post])
            return kinds == ["block", "connection", "solicitation", "trust"] and len(known) == 2

        await wait_until(logged, timeout=60)
        member = (await voting.fetch("SELECT * FROM voting.members WHERE member_id = $1", newbie))[0]
        assert (member["email_verified"], member["trust_level"], member["deleted"]) == (False, "new", False)

        http: httpx.AsyncClient = await app_client("voting")
        for voter in (author, newbie, blocked, s1, s2, plain, friend):
            r = await http.post("/v1/votes", json={"target_id": str(post), "value": 1}, headers=issuer.headers(voter))
            assert r.status_code == 202, r.text

        async def decided() -> dict[uuid.UUID, Any] | None:
            rows = await voting.fetch("SELECT voter_id, weight, reasons FROM voting.ballots WHERE target_id = $1", post)
            return {r["voter_id"]: (r["weight"], sorted(r["reasons"] or [])) for r in rows} if len(rows) == 7 else None

        got = await wait_until(decided, timeout=60)
        assert got == {
            author: (0.0, ["self_vote"]),
            newbie: (0.5, ["low_trust", "new_account", "unverified_email"]),
            blocked: (0.0, ["blocked_by_author"]),
            s1: (0.0, ["solicited_message"]),
            s2: (0.0, ["solicited_message"]),
            plain: (1.0, []),
            friend: (1.0, []),  # one old connection voting is no burst
        }
        await voting.wait_caught_up()
        tally_row = (await http.get(f"/v1/tallies/{post}")).json()
        assert (tally_row["ups"], tally_row["score"], tally_row["trusted_score"]) == (7, 7, 2.5)

        # The author's summary: counts and reasons, never who voted.
        r = await http.get(f"/v1/tallies/{post}/summary", headers=issuer.headers(author))
        assert r.status_code == 200, r.text
        s = r.json()
        assert (s["votes"], s["counted"], s["reduced"], s["not_counted"], s["score"], s["trusted_score"]) == (7, 2, 1, 4, 7, 2.5)
        assert s["reasons"][0] == {"code": "solicited_message", "votes": 2,
                                   "description": "the voter was sent a message linking the target shortly before"}
        assert s["summary"].startswith("7 votes, 4 not counted, 1 counted with reduced weight: asked for by message")
        assert str(s1) not in r.text
        r = await http.get(f"/v1/tallies/{post}/summary", headers=issuer.headers(plain))
        assert r.status_code == 403 and r.json()["error"] == "not_the_author"
        r = await http.get(f"/v1/tallies/{uuid.uuid4()}/summary", headers=issuer.headers(author))
        assert r.status_code == 404

        # Moderators: every decision on a target; a member's discounted decisions; findings with voters.
        mod = issuer.headers(uuid.uuid4(), scope="moderation")
        r = await http.get("/v1/moderation/decisions", params={"target_id": str(post)}, headers=issuer.headers(plain))
        assert r.status_code == 403 and r.json()["error"] == "not_a_moderator"
        r = await http.get("/v1/moderation/decisions", params={"target_id": str(post), "limit": 4}, headers=mod)
        assert r.status_code == 200, r.text
        first = r.json()
        r = await http.get("/v1/moderation/decisions", params={"target_id": str(post), "limit": 4, "cursor": first["next_cursor"]}, headers=mod)
        second = r.json()
        assert second["next_cursor"] is None
        listed = {d["voter_id"]: d for d in first["decisions"] + second["decisions"]}
        assert len(listed) == 7 and listed[str(s1)]["outcome"] == "not_counted" and listed[str(newbie)]["outcome"] == "reduced"
        r = await http.get("/v1/moderation/decisions", params={"voter_id": str(s2)}, headers=mod)
        assert [(d["target_id"], d["reasons"]) for d in r.json()["decisions"]] == [(str(post), ["solicited_message"])]
        r = await http.get("/v1/moderation/decisions", params={"voter_id": str(plain)}, headers=mod)
        assert r.json()["decisions"] == []  # counted votes are not a moderator's business by voter
        r = await http.get("/v1/moderation/decisions", headers=mod)
        assert r.status_code == 400 and r.json()["error"] == "one_filter_required"
        r = await http.get("/v1/moderation/decisions", params={"target_id": str(post), "cursor": "garbage"}, headers=mod)
        assert r.status_code == 422
        r = await http.get("/v1/moderation/findings", params={"target_id": str(post)}, headers=mod)
        findings = r.json()["findings"]
        assert {v for f in findings for v in f["voters"]} == {str(s1), str(s2)}
        assert sum(f["reasons"]["solicited_message"] for f in findings) == 2
        one = await http.get(f"/v1/moderation/findings/{findings[0]['finding_id']}", headers=mod)
        assert one.json() == findings[0]

        # A solicitation that arrives after the vote it explains revises it; the tally follows.
        r = await http.post("/v1/votes", json={"target_id": str(other_post), "value": 1}, headers=issuer.headers(late))
        assert r.status_code == 202

        async def counted() -> bool:
            rows = await voting.fetch("SELECT weight FROM voting.ballots WHERE target_id = $1 AND voter_id = $2", other_post, late)
            return bool(rows) and rows[0]["weight"] == 1.0

        await wait_until(counted, timeout=60)
        await produce(bootstrap, CONVERSATIONS.qualified(prefix), [_linked(author, [late], other_post, now - timedelta(minutes=1))])
        # No vote comes after it: the idle consumer reads the context and writes the revision by itself.

        async def revised() -> Any:
            t = (await http.get(f"/v1/tallies/{other_post}")).json()
            return t if t["trusted_score"] == 0.0 and t["ups"] == 1 else None

        await wait_until(revised, timeout=60)

        # On agora.integrity: the revision (for moderation tools) and alerts carrying counts, not voters.
        async def integrity() -> list[Any] | None:
            msgs = await read_all(bootstrap, INTEGRITY.qualified(prefix))
            ours = [(dict(m.headers)["ce_type"].decode(), orjson.loads(m.value)) for m in msgs if m.key in (str(post).encode(), str(other_post).encode())]
            return ours if any(t == "vote.outcome_revised" for t, _ in ours) else None

        ours = await wait_until(integrity, timeout=60)
        revision = next(d for t, d in ours if t == "vote.outcome_revised")
        assert (revision["voter_id"], revision["target_id"], revision["outcome"], revision["previous_outcome"]) == (
            str(late), str(other_post), "not_counted", "counted")
        assert revision["reasons"] == ["solicited_message"] and revision["author_id"] == str(author)
        alerts = [d for t, d in ours if t == "manipulation.suspected" and d["target_id"] == str(post)]
        assert alerts and sum(a["reasons"].get("solicited_message", 0) for a in alerts) == 2
        assert all(a["author_id"] == str(author) and "voters" not in a for a in alerts)
    finally:
        tally.stop()
        relay.stop()
        events.stop()

