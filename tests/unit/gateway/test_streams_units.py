"""Stream building blocks without Kafka: resume ids, channels and who receives what."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from gateway.streams import positions
from gateway.streams.channels import parse_channel
from services.kit.auth import Principal
from services.kit.errors import AgoraError


def test_a_resume_id_round_trips_and_is_compact() -> None:
    vector = [[0, 1, 127, 128, 2**40, 5], [3, 2, 1, 0, 9, 9], [7] * 6, [1, 2, 3]]
    rid = positions.encode(vector)
    assert rid.startswith("v1.") and len(rid) < 60
    assert positions.decode(rid, [6, 6, 6, 3]) == vector


@pytest.mark.parametrize("bad", ["", "garbage", "v1.", "v1.!!!", "v2.AQEB", "v1.AQ", positions.encode([[1, 2]]) + "AA"])
def test_malformed_resume_ids_are_400(bad: str) -> None:
    with pytest.raises(AgoraError) as exc:
        positions.decode(bad, [6])
    assert exc.value.status == 400 and exc.value.code == "invalid_resume_id"


def test_another_channels_resume_id_is_refused() -> None:
    with pytest.raises(AgoraError):
        positions.decode(positions.encode([[1] * 6]), [6, 6])
    with pytest.raises(AgoraError):
        positions.decode(positions.encode([[1] * 6, [1] * 3]), [6, 6])


def member(m: uuid.UUID) -> Principal:
    return Principal(member_id=m, token_id=None, scopes=frozenset())


def test_me_carries_only_events_that_name_the_member() -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    ch = parse_channel("me", member(me))
    m, o = str(me), str(other)
    assert ch.carries("invitation.sent", {"from_id": o, "to_id": m})
    assert not ch.carries("invitation.sent", {"from_id": o, "to_id": str(uuid.uuid4())})
    assert ch.carries("tally.updated", {"author_id": m, "target_id": o})
    assert not ch.carries("tally.updated", {"author_id": o, "target_id": m})
    assert not ch.carries("member.blocked", {"blocker_id": o, "blocked_id": m})  # a block is never told to the blocked
    assert ch.carries("introduction.forwarded", {"requester_id": o, "introducer_id": o, "target_id": m})
    assert ch.carries("message.sent", {"sender_id": o, "recipient_ids": [o, m]})
    assert not ch.carries("conversation.reported", {"reporter_id": m, "conversation_id": o, "recipient_id": m})
    assert ch.carries("thing.happened", {"recipient_ids": [o, m]})  # unknown types: recipient-style fields only
    assert not ch.carries("thing.happened", {"sender_id": m, "subject_id": m})


def test_channel_names_are_checked() -> None:
    with pytest.raises(AgoraError) as exc:
        parse_channel("me", None)
    assert exc.value.status == 401
    assert parse_channel("topic:#Python", None).name == "topic:python"
    post = uuid.uuid4()
    ch = parse_channel(f"post:{post}", None)
    assert ch.carries("comment.created", {"post_id": str(post)}) and not ch.carries("comment.created", {"post_id": str(uuid.uuid4())})
    assert ch.carries("tally.updated", {"target_id": str(post)}) and not ch.carries("post.created", {"post_id": str(post)})
    for name, status in (("topic:", 400), ("topic:no spaces", 400), ("post:42", 400), ("everything", 404), ("member:x", 404)):
        with pytest.raises(AgoraError) as exc:
            parse_channel(name, None)
        assert exc.value.status == status, name


class Msg:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset


class Tail:
    """Stands in for a TopicTail: a topic and the positions it has fanned out up to."""

    def __init__(self, topic: str, partitions: int) -> None:
        self.topic, self.positions = topic, [0] * partitions

    def passed(self, msg: Msg) -> Msg:
        self.positions[msg.partition] = msg.offset + 1
        return msg


def event(post_id: str, tags: list[str]) -> Any:
    from datetime import UTC, datetime

    from gateway.streams.hub import Incoming
    from services.kit.events import CloudEvent

    return Incoming(CloudEvent(id=str(uuid.uuid4()), source="agora/content", type="post.created", time=datetime.now(UTC),
                               data={"post_id": post_id, "topics": tags}, subject=post_id))


def test_a_slow_subscriber_overflows_alone_and_is_told_to_come_back() -> None:
    from gateway.streams.hub import OVERFLOW, Subscriber

    ch = parse_channel("topic:news", None)
    tail = Tail("agora.content", 2)
    slow, fast = Subscriber(ch, [tail], buffer=3), Subscriber(ch, [tail], buffer=3)  # type: ignore[list-item]
    for offset in range(5):
        msg, e = tail.passed(Msg("agora.content", offset % 2, offset // 2)), event(str(uuid.uuid4()), ["news"])
        cache: dict[Any, str] = {}
        for sub in (slow, fast):
            sub.offer_live(msg, e, cache)
        while not fast.queue.empty():  # the fast client keeps up
            last = fast.queue.get_nowait()
    assert slow.overflowed and slow.queue.qsize() == 1 and slow.queue.get_nowait() is OVERFLOW
    assert not fast.overflowed and positions.decode(last.id, [2]) == [[3, 2]]  # type: ignore[union-attr]


def test_a_resumed_subscriber_skips_what_it_already_saw_and_its_ids_never_go_back() -> None:
    from gateway.streams.hub import Subscriber

    tail = Tail("agora.content", 2)
    sub = Subscriber(parse_channel("topic:news", None), [tail], buffer=10, resume=[[5, 0]])  # type: ignore[list-item]
    sub.catching_up = False
    sub.offer_live(tail.passed(Msg("agora.content", 0, 4)), event("p", ["news"]), {})  # below the resume point: seen
    assert sub.queue.empty()
    sub.offer_live(tail.passed(Msg("agora.content", 1, 0)), event("p", ["news"]), {})
    out = sub.queue.get_nowait()
    assert positions.decode(out.id, [2]) == [[5, 1]]  # type: ignore[union-attr] - partition 0 stays at the resume point
    sub.offer_live(tail.passed(Msg("agora.content", 0, 5)), event("p", ["news"]), {})
    assert positions.decode(sub.queue.get_nowait().id, [2]) == [[6, 1]] and sub.floor is None  # type: ignore[union-attr]


def test_catch_up_delivers_only_the_channels_events_each_with_the_position_just_after_it() -> None:
    from gateway.streams.hub import Subscriber

    sub = Subscriber(parse_channel("topic:news", None), [Tail("agora.content", 2)], buffer=10, resume=[[5, 0]])  # type: ignore[list-item]
    assert sub.accept(Msg("agora.content", 0, 4), event("p", ["news"])) is None  # before the resume position: already seen
    assert sub.accept(Msg("agora.content", 1, 0), event("p", ["sport"])) is None  # not this channel's, but passed over
    out = sub.accept(Msg("agora.content", 0, 5), event("p", ["news"]))
    assert out is not None and positions.decode(out.id, [2]) == [[6, 1]]


def test_the_hub_routes_a_message_only_to_its_channels_subscribers() -> None:
    from gateway.streams.hub import Subscriber, TopicTail

    index: dict[Any, Any] = {}
    tail = TopicTail("agora.content", "p.agora.content", "k:9", index)
    tail.positions = [0, 0]
    news, sport = Subscriber(parse_channel("topic:news", None), [tail], 10), Subscriber(parse_channel("topic:sport", None), [tail], 10)
    for s in (news, sport):
        index.setdefault(s.channel.route, set()).add(s)

    class Raw:
        topic, partition, offset, key = "p.agora.content", 1, 7, b"p"
        headers = [("ce_specversion", b"1.0"), ("ce_id", b"e1"), ("ce_source", b"agora/content"), ("ce_type", b"post.created")]
        value = b'{"post_id": "p", "topics": ["news", "python"]}'

    tail.fan_out(Raw())
    assert tail.positions == [0, 8]
    assert sport.queue.empty() and news.queue.qsize() == 1
    assert positions.decode(news.queue.get_nowait().id, [2]) == [[0, 8]]  # type: ignore[union-attr]


async def test_an_overflowed_sse_stream_ends_with_a_retry_hint() -> None:
    from gateway.config import Settings
    from gateway.streams.api import EventStreamResponse
    from gateway.streams.hub import Subscriber

    tail = Tail("agora.content", 1)
    sub = Subscriber(parse_channel("topic:news", None), [tail], buffer=1)  # type: ignore[list-item]
    sub.offer_live(tail.passed(Msg("agora.content", 0, 0)), event("p", ["news"]), {})
    sub.offer_live(tail.passed(Msg("agora.content", 0, 1)), event("q", ["news"]), {})  # buffer of 1 exceeded

    class Hub:
        def unsubscribe(self, s: Any) -> None:
            self.gone = s

    hub, sent = Hub(), []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", stream_retry_ms=2500)
    await asyncio.wait_for(EventStreamResponse(hub, sub, settings)({"type": "http"}, receive, send), 5)  # type: ignore[arg-type]
    body = b"".join(m.get("body", b"") for m in sent).decode()
    assert body.startswith("retry: 2500\nid: v1.") and "event: ready" in body
    assert body.endswith('"error":"slow_consumer","message":"you fell too far behind; reconnect with Last-Event-ID to catch up"}\n\n')
    assert "event: overflow" in body and body.count("retry: 2500") == 2 and "event: post.created" not in body
    assert sent[-1]["more_body"] is False and hub.gone is sub


async def test_a_stream_ends_when_the_token_that_opened_it_expires() -> None:
    import time

    from gateway.config import Settings
    from gateway.streams.api import EventStreamResponse
    from gateway.streams.hub import Subscriber

    me = uuid.uuid4()
    tails = [Tail(t, 1) for t in ("a", "b", "c", "d")]
    sub = Subscriber(parse_channel("me", member(me)), tails, buffer=10)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    class Hub:
        def unsubscribe(self, s: Any) -> None:
            pass

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    settings = Settings(kafka_bootstrap_servers="127.0.0.1:9", stream_heartbeat_seconds=0.05)
    started = time.monotonic()
    await asyncio.wait_for(EventStreamResponse(Hub(), sub, settings, expires_at=time.time() + 0.3)({"type": "http"}, receive, send), 5)  # type: ignore[arg-type]
    body = b"".join(m.get("body", b"") for m in sent).decode()
    assert 0.25 < time.monotonic() - started < 3
    assert ": heartbeat" in body and "event: error" in body and '"error":"token_expired"' in body
    assert sent[-1]["more_body"] is False
