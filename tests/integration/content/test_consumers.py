"""Content's consumer as a real process (`agora consume content events`) fed real CloudEvents through the run's
Kafka topics: tallies applied once and only when newer, the network read model behind the network feeds,
and account deletion anonymising a member's posts and comments."""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from services.catalog import CONNECTIONS, PROFILES, TALLIES
from services.kit.events import CloudEvent
from tests.conftest import wait_until
from tests.integration.content.conftest import new_post, tally_event
from tests.support import processes


@pytest.fixture(scope="module")
async def consumer(test_infra: Any) -> AsyncIterator[processes.Proc]:
    proc = processes.start("content-events", ["services.cli", "consume", "content", "events"], test_infra.env)
    proc.wait_ready(60)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
async def producer(test_infra: Any) -> AsyncIterator[Any]:
    p = AIOKafkaProducer(bootstrap_servers=test_infra.bootstrap)
    await p.start()
    yield p
    await p.stop()


async def publish(producer: Any, test_infra: Any, topic: Any, event: CloudEvent, key: str) -> None:
    await producer.send_and_wait(topic.qualified(test_infra.prefix), value=event.value(), key=key.encode(), headers=event.headers())


def event(etype: str, data: dict[str, Any], source: str) -> CloudEvent:
    return CloudEvent(id=str(uuid.uuid4()), source=source, type=etype, time=datetime.now(UTC), data=data)


async def test_tallies_apply_only_when_newer_and_once(consumer: Any, producer: Any, test_infra: Any, content: Any, members: Any, pg: Any) -> None:
    _, headers = members.new()
    post = await new_post(content, headers)
    marker = await new_post(content, headers)
    pid = post["id"]
    v3 = tally_event(pid, "post", 7, 2, 3, trusted_score=3.5)  # fractional: a reduced vote counts 0.5
    bad = tally_event(pid, "post", 100, 0, 9)
    unparsable = dataclasses.replace(bad, data={**bad.data, "ups": "many"})
    sequence = [
        v3,
        tally_event(pid, "post", 1, 0, 1),             # older, arrives late
        tally_event(pid, "post", 5, 0, 2),             # older, arrives late
        dataclasses.replace(v3, data={**v3.data, "ups": 999, "version": 4}),  # v3 redelivered (same id): skipped
        tally_event(pid, "post", 7, 2, 3),             # a repeat of version 3 under a new event id
        tally_event(pid, "comment", 100, 0, 9),        # a comment tally naming a post id: no such comment, ignored
        tally_event(pid, "poll", 100, 0, 9),           # a kind content does not rank, ignored
        unparsable,                                    # dead-lettered; the consumer goes on
        tally_event(marker["id"], "post", 1, 0, 1),    # same key -> same partition: applied after all the above
    ]
    for e in sequence:
        await publish(producer, test_infra, TALLIES, e, key=pid)

    async def marker_applied() -> bool:
        return await pg.fetchval("SELECT tally_version FROM posts WHERE id = $1", uuid.UUID(marker["id"])) == 1

    await wait_until(marker_applied, timeout=60)
    row = await pg.fetchrow("SELECT ups, downs, score, trusted_score, rank_score, tally_version, hot, created_at FROM posts WHERE id = $1", uuid.UUID(pid))
    assert (row["ups"], row["downs"], row["score"], row["trusted_score"], row["rank_score"], row["tally_version"]) == (7, 2, 5, 3.5, 4, 3)
    expected_hot = round(math.log10(4) + (row["created_at"].timestamp() - 1134028003) / 45000, 7)
    assert row["hot"] == pytest.approx(expected_hot, abs=1e-7)
    got = (await content.get(f"/v1/posts/{pid}")).json()
    assert (got["ups"], got["downs"], got["score"], got["trusted_score"]) == (7, 2, 5, 3.5)
    recorded = await pg.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'content.events' AND event_id = ANY($1::text[])", [e.id for e in sequence])
    assert recorded == len({e.id for e in sequence}) == len(sequence) - 1  # each event once; the redelivery was skipped
    from services.catalog import DEADLETTER
    from tests.support.kafka import headers as header_map
    from tests.support.kafka import read_all

    dead = [header_map(m) for m in await read_all(test_infra.bootstrap, DEADLETTER.qualified(test_infra.prefix))]
    [reason] = [h["dlq_reason"] for h in dead if h["ce_id"] == unparsable.id]
    assert "content.events" in reason and "ups" in reason


async def test_network_feeds_follow_connection_events_in_any_order(consumer: Any, producer: Any, test_infra: Any, content: Any, members: Any) -> None:
    me, my_headers = members.new()
    people = {name: members.new() for name in ("connected", "followed", "stranger", "dropped", "never")}
    posts = {name: (await new_post(content, h, title=f"by {name}"))["id"] for name, (_, h) in people.items()}
    shared = await content.post(f"/v1/posts/{posts['stranger']}/shares", json={}, headers=people["connected"][1])
    assert shared.status_code == 201
    ids = {name: str(m) for name, (m, _) in people.items()}
    t0 = datetime.now(UTC)
    src = "agora/connections"
    sequence = [
        event("connection.made", {"a_id": str(me), "b_id": ids["connected"], "provenance": "invitation", "made_at": t0.isoformat()}, src),
        event("connection.made", {"a_id": ids["dropped"], "b_id": str(me), "provenance": "invitation", "made_at": t0.isoformat()}, src),
        event("connection.removed", {"a_id": str(me), "b_id": ids["dropped"], "removed_at": (t0 + timedelta(seconds=1)).isoformat()}, src),
        # Out of order: the removal (later) arrives before the connection (earlier) — the pair stays apart.
        event("connection.removed", {"a_id": str(me), "b_id": ids["never"], "removed_at": (t0 + timedelta(seconds=2)).isoformat()}, src),
        event("connection.made", {"a_id": str(me), "b_id": ids["never"], "provenance": "x", "made_at": t0.isoformat()}, src),
        event("member.followed", {"follower_id": ids["followed"], "followee_id": str(me), "followed_at": t0.isoformat()}, src),  # the other way round
        event("member.followed", {"follower_id": str(me), "followee_id": ids["followed"], "followed_at": t0.isoformat()}, src),
    ]
    for e in sequence:
        await publish(producer, test_infra, CONNECTIONS, e, key=str(me))

    async def network() -> set[str]:
        items = (await content.get("/v1/feeds/network?sort=new&limit=100", headers=my_headers)).json()["items"]
        return {p["title"] for p in items}

    await wait_until(lambda: _contains(network, "by followed"), timeout=60)
    assert await network() == {"by connected", "by followed", "by stranger"}  # stranger's post: shared by a connection
    paged, cursor = [], None
    while True:  # one post per page: the same set, each once
        page = (await content.get("/v1/feeds/network?sort=hot&limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=my_headers)).json()
        paged += [p["title"] for p in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(paged) == sorted(await network())
    hot = (await content.get("/v1/feeds/hot-connections", headers=my_headers)).json()["items"]
    assert {p["title"] for p in hot} == {"by connected", "by stranger"}
    # Seen from the other side: a connection is mutual; "followed" also follows me (the first follow event).
    connected_view = (await content.get("/v1/feeds/network?sort=new", headers=people["connected"][1])).json()["items"]
    assert [p["author_id"] for p in connected_view] == []  # I have not posted
    await new_post(content, my_headers, title="by me")
    assert [p["title"] for p in (await content.get("/v1/feeds/network?sort=new", headers=people["connected"][1])).json()["items"]] == ["by me"]
    assert [p["title"] for p in (await content.get("/v1/feeds/network?sort=new", headers=people["followed"][1])).json()["items"]] == ["by me"]
    for outsider in ("stranger", "dropped", "never"):  # a follow is one-way; removed connections see nothing
        assert (await content.get("/v1/feeds/network?sort=new", headers=people[outsider][1])).json()["items"] == [], outsider

    unfollow = event("member.unfollowed", {"follower_id": str(me), "followee_id": ids["followed"], "unfollowed_at": (t0 + timedelta(seconds=5)).isoformat()}, src)
    await publish(producer, test_infra, CONNECTIONS, unfollow, key=str(me))
    await wait_until(lambda: _lacks(network, "by followed"), timeout=60)
    assert await network() == {"by connected", "by stranger"}


async def test_account_deleted_anonymises_posts_comments_and_shares(consumer: Any, producer: Any, test_infra: Any, content: Any, members: Any, pg: Any) -> None:
    leaver, headers = members.new()
    _, other = members.new()
    post = await new_post(content, headers, title="stays, without its author")
    c = await content.post(f"/v1/posts/{post['id']}/comments", json={"body": "mine"}, headers=headers)
    theirs = await new_post(content, other)
    assert (await content.post(f"/v1/posts/{theirs['id']}/shares", json={}, headers=headers)).status_code == 201
    await publish(producer, test_infra, PROFILES, event("account.deleted", {"member_id": str(leaver), "deleted_at": datetime.now(UTC).isoformat()}, "agora/profiles"), key=str(leaver))

    async def anonymised() -> bool:
        return (await content.get(f"/v1/posts/{post['id']}")).json()["author_id"] is None

    await wait_until(anonymised, timeout=60)
    got = (await content.get(f"/v1/posts/{post['id']}")).json()
    assert got["title"] == "stays, without its author"
    thread = (await content.get(f"/v1/posts/{post['id']}/comments")).json()["comments"]
    assert [(x["id"], x["author_id"], x["body"]) for x in thread] == [(c.json()["id"], None, "mine")]
    assert await pg.fetchval("SELECT count(*) FROM shares WHERE sharer_id = $1", leaver) == 0
    assert await pg.fetchval("SELECT count(*) FROM post_revisions WHERE editor_id = $1", leaver) == 0


async def _contains(get: Any, title: str) -> bool:
    return title in await get()


async def _lacks(get: Any, title: str) -> bool:
    return title not in await get()


async def test_relay_publishes_content_events_keyed_by_post(test_infra: Any, content: Any, members: Any) -> None:
    from services.catalog import CONTENT
    from tests.support.kafka import headers as header_map
    from tests.support.kafka import read_all

    author, headers = members.new()
    post = await new_post(content, headers, kind="link", url="https://example.org/relay-" + uuid.uuid4().hex)
    reply = await content.post(f"/v1/posts/{post['id']}/comments", json={"body": "hi"}, headers=headers)
    relay = processes.start("content-relay", ["services.cli", "relay", "content"], test_infra.env)
    relay.wait_ready(60)
    try:
        async def mine() -> list[Any]:
            msgs = await read_all(test_infra.bootstrap, CONTENT.qualified(test_infra.prefix))
            return [m for m in msgs if m.key == post["id"].encode()]

        delivered = await wait_until(lambda: _at_least(mine, 2), timeout=60)
    finally:
        relay.stop()
    by_type = {header_map(m)["ce_type"]: m for m in delivered}
    created, commented = by_type["post.created"], by_type["comment.created"]
    h = header_map(created)
    assert h["ce_source"] == "agora/content" and h["ce_subject"] == post["id"] and h["content-type"] == "application/json"
    import orjson

    data = orjson.loads(created.value)
    assert {k: data[k] for k in ("post_id", "author_id", "kind", "topics")} == {"post_id": post["id"], "author_id": str(author), "kind": "link", "topics": ["general"]}
    assert orjson.loads(commented.value)["comment_id"] == reply.json()["id"]


async def _at_least(get: Any, n: int) -> Any:
    found = await get()
    return found if len(found) >= n else None
