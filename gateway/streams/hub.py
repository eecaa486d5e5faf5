"""The stream hub: one Kafka reader per topic per gateway process, fanned out in memory to subscribers.

Each `TopicTail` is a plain aiokafka consumer with no group, assigned every partition of its topic and
started at the end: every replica reads everything, so any replica can serve any subscriber and no
sticky sessions are needed. Subscribers are indexed by channel (`me` of a member, a tag, a post), so a
message costs one parse and a lookup per channel it is for, not a check per connected subscriber; its
resume id (the tails' positions just after it, see `positions`) is encoded once for all subscribers of
the same topics. Each subscriber has its own bounded queue:

- live delivery never waits: `put_nowait`; a full queue marks the subscriber overflowed, its queue is
  dropped and the connection is closed with a retry hint. The client reconnects with its last id and
  catches up from Kafka, so a slow client loses nothing and slows nobody.
- a resumed subscriber is registered first (its live events collect in `pending`, ids computed as they
  arrive), then a short-lived catch-up consumer reads each partition from the resume position up to
  where the tail stood at registration, then `pending` is delivered. Live messages below the resume
  position are skipped, so the switch is exact whether the resume id came from this replica or from
  one that is ahead or behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from gateway.config import Settings
from gateway.streams import positions
from gateway.streams.channels import ME_TOPICS, Channel, routes, streamed_data
from services.catalog import CONTENT
from services.kit.errors import AgoraError, BadRequest, Gone
from services.kit.events import CloudEvent, MalformedEvent

log = logging.getLogger("agora.gateway.streams")
STREAMED_TOPICS = (*ME_TOPICS, CONTENT)


class Incoming:
    """A Kafka message's CloudEvent, parsed once per process and rendered to JSON once, however many subscribers get it."""

    __slots__ = ("event", "_json")

    def __init__(self, event: CloudEvent) -> None:
        self.event = event
        self._json: bytes | None = None

    def json(self) -> bytes:
        if self._json is None:
            e = self.event
            self._json = orjson.dumps({"type": e.type, "event_id": e.id, "time": e.time.isoformat(), "subject": e.subject,
                                       "data": streamed_data(e.data)})
        return self._json


@dataclass(frozen=True, slots=True)
class StreamEvent:
    id: str  # resume id (this subscriber's position vector just after this event)
    incoming: Incoming

    @property
    def type(self) -> str:
        return self.incoming.event.type

    def json(self) -> bytes:
        """{"id", "type", "event_id", "time", "subject", "data"}; the id is base64url, safe to splice in."""
        return b'{"id":"' + self.id.encode() + b'",' + self.incoming.json()[1:]

    def sse(self) -> bytes:
        return b"id: " + self.id.encode() + b"\nevent: " + self.type.encode() + b"\ndata: " + self.json() + b"\n\n"


class Overflow:
    """Queued in place of the dropped backlog: the subscriber was too slow and must reconnect."""


class Failure:
    def __init__(self, message: str) -> None:
        self.message = message


OVERFLOW = Overflow()


def parse(msg: Any) -> Incoming | None:
    try:
        return Incoming(CloudEvent.from_kafka(msg.headers, msg.value))
    except MalformedEvent:
        return None  # the services' consumers dead-letter it; a stream just passes over it


class Subscriber:
    """One connected client: its channel, its bounded queue, and where it stands in Kafka.

    Live, a subscriber has seen everything its channel's tails have fanned out, so its position is the
    tails' positions (shared by every subscriber of the same topics: computed once per message). A resumed
    subscriber also has a `floor`, the resume vector, until the tails pass it: live messages below the
    floor were already delivered (the id came from a replica that is ahead) and ids never go below it.
    During catch-up, `vector` is the catch-up reader's own position.
    """

    def __init__(self, channel: Channel, tails: list[TopicTail], buffer: int, *, resume: positions.Vector | None = None) -> None:
        self.channel = channel
        self.tails = tails
        self.index = {t.topic: i for i, t in enumerate(tails)}
        self.queue: asyncio.Queue[StreamEvent | Overflow | Failure] = asyncio.Queue(maxsize=buffer)
        self.buffer = buffer
        self.overflowed = False
        self.task: asyncio.Task[None] | None = None
        self.pending: list[StreamEvent] = []
        self.catching_up = resume is not None
        self.floor = [list(o) for o in resume] if resume is not None else None
        self.vector = [list(o) for o in resume] if resume is not None else []
        self.start_id = positions.encode(resume) if resume is not None else self.live_id({})

    def live_id(self, cache: dict[tuple[str, ...], str]) -> str:
        """This subscriber's resume id now (just after the message being fanned out)."""
        if self.floor is None:
            key = tuple(self.index)
            rid = cache.get(key)
            if rid is None:
                rid = cache[key] = positions.encode([t.positions for t in self.tails])
            return rid
        vector = [[max(f, p) for f, p in zip(floor, t.positions, strict=True)] for floor, t in zip(self.floor, self.tails, strict=True)]
        if all(p >= f for floor, t in zip(self.floor, self.tails, strict=True) for f, p in zip(floor, t.positions, strict=True)):
            self.floor = None  # the tails have passed the resume point: plain live from now on
        return positions.encode(vector)

    def accept(self, msg: Any, incoming: Incoming | None) -> StreamEvent | None:
        """Catch-up: advance past `msg`; the event to deliver if the channel carries it."""
        offsets = self.vector[self.index[msg.topic]]
        if msg.offset < offsets[msg.partition]:
            return None
        offsets[msg.partition] = msg.offset + 1
        if incoming is None or not self.channel.carries(incoming.event.type, incoming.event.data):
            return None
        return StreamEvent(positions.encode(self.vector), incoming)

    def offer_live(self, msg: Any, incoming: Incoming, cache: dict[tuple[str, ...], str]) -> None:
        """A live message of this subscriber's channel (routed here by the hub's index). Never waits."""
        if self.overflowed:
            return
        if self.floor is not None and msg.offset < self.floor[self.index[msg.topic]][msg.partition]:
            return  # already delivered before the resume point
        event = StreamEvent(self.live_id(cache), incoming)
        if self.catching_up:
            self.pending.append(event)
            if len(self.pending) > 10 * self.buffer:
                self.overflow()
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflow()

    def overflow(self) -> None:
        self.overflowed = True
        self.pending.clear()
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(OVERFLOW)

    def fail(self, message: str) -> None:
        self.overflowed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(Failure(message))


Route = tuple[str, str]


class StreamsUnavailable(AgoraError):
    status, code = 503, "streams_unavailable"


class TopicTail:
    """One topic, every partition, from the end at start-up, for this process's subscribers."""

    def __init__(self, name: str, topic: str, bootstrap: str, index: dict[Route, set[Subscriber]]) -> None:
        self.name = name  # catalogue name (agora.content)
        self.topic = topic  # with the deployment's prefix
        self.bootstrap = bootstrap
        self.index = index  # the hub's: channel route -> subscribers
        self.partitions: list[int] = []
        self.positions: list[int] = []  # next offset the tail will fan out, per partition
        self.consumer: AIOKafkaConsumer | None = None
        self.ready = False

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
                                         isolation_level="read_committed", auto_offset_reset="latest")
        await self.consumer.start()
        parts = self.consumer.partitions_for_topic(self.topic)
        if not parts:
            await self.consumer._client.force_metadata_update()
            parts = self.consumer.partitions_for_topic(self.topic)
        if not parts:
            raise RuntimeError(f"topic {self.topic} does not exist (run `agora topics`)")
        self.partitions = sorted(parts)
        tps = [TopicPartition(self.topic, p) for p in self.partitions]
        self.consumer.assign(tps)
        if len(self.positions) != len(tps):  # first start: from the end
            end = await self.consumer.end_offsets(tps)
            self.positions = [end[tp] for tp in tps]
        # A restart after a failure goes on from where fan-out stopped, so connected subscribers miss nothing.
        for tp in tps:
            self.consumer.seek(tp, self.positions[tp.partition])
        self.ready = True

    async def run(self) -> None:
        assert self.consumer is not None
        while True:
            batch = await self.consumer.getmany(timeout_ms=1000, max_records=2000)
            for tp, messages in batch.items():
                for msg in messages:
                    self.fan_out(msg)

    def fan_out(self, msg: Any) -> None:
        """Advance past `msg` and hand it to the subscribers of the channels it is for: O(its channels), not O(subscribers)."""
        self.positions[msg.partition] = msg.offset + 1
        if not self.index:
            return
        incoming = parse(msg)
        if incoming is None:
            return
        cache: dict[tuple[str, ...], str] = {}
        done: set[int] = set()
        for route in routes(self.name, incoming.event.type, incoming.event.data):
            for sub in tuple(self.index.get(route, ())):
                if self.topic in sub.index and id(sub) not in done:
                    done.add(id(sub))
                    sub.offer_live(msg, incoming, cache)

    async def bounds(self) -> tuple[list[int], list[int]]:
        """(first retained offset, end offset) per partition, from the broker."""
        if self.consumer is None:
            raise StreamsUnavailable("live streams are reconnecting to Kafka; retry shortly", headers={"Retry-After": "5"})
        tps = [TopicPartition(self.topic, p) for p in self.partitions]
        begin = await self.consumer.beginning_offsets(tps)
        end = await self.consumer.end_offsets(tps)
        return [begin[tp] for tp in tps], [end[tp] for tp in tps]

    async def stop(self) -> None:
        self.ready = False
        if self.consumer is not None:
            consumer, self.consumer = self.consumer, None
            await consumer.stop()


class StreamHub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index: dict[Route, set[Subscriber]] = {}
        self.tails = {t.name: TopicTail(t.name, t.qualified(settings.topic_prefix), settings.kafka_bootstrap_servers, self.index)
                      for t in STREAMED_TOPICS}
        self.catchups = asyncio.Semaphore(settings.stream_max_catchup)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def ready(self) -> bool:
        return all(t.ready for t in self.tails.values())

    async def start(self, wait_seconds: float = 15.0) -> None:
        """Start the tails in the background; wait up to `wait_seconds` for them (Kafka down: the API still starts)."""
        self._tasks = [asyncio.create_task(self._run(t), name=f"stream-tail-{t.topic}") for t in self.tails.values()]
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while not self.ready and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        if not self.ready:
            log.warning("stream readers not connected to Kafka yet; /v1/streams answers 503 until they are")

    async def _run(self, tail: TopicTail) -> None:
        while True:
            try:
                if not tail.ready:
                    await tail.start()
                await tail.run()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a broker outage must not end the streams, nor the gateway
                log.exception("stream tail %s failed; reconnecting", tail.topic)
                await tail.stop()
                await asyncio.sleep(2.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(t.stop() for t in self.tails.values()), return_exceptions=True)

    def _tails(self, channel: Channel) -> list[TopicTail]:
        return [self.tails[t.name] for t in channel.topics]

    def _register(self, sub: Subscriber) -> None:
        self.index.setdefault(sub.channel.route, set()).add(sub)

    async def subscribe(self, channel: Channel, resume: str | None) -> Subscriber:
        """A registered subscriber, positioned now or at `resume` (400 malformed / 410 outside retention / 503 no Kafka)."""
        tails = self._tails(channel)
        if not all(t.ready for t in tails):
            raise StreamsUnavailable("live streams are reconnecting to Kafka; retry shortly", headers={"Retry-After": "5"})
        if resume is None:
            sub = Subscriber(channel, tails, self.settings.stream_buffer)
            self._register(sub)
            return sub
        vector = positions.decode(resume, [len(t.partitions) for t in tails])
        for tail, offsets in zip(tails, vector, strict=True):
            begin, end = await tail.bounds()
            for p, offset in enumerate(offsets):
                if offset < begin[p]:
                    raise Gone("events after this resume id are no longer retained; reconnect without it and reload",
                               code="resume_expired", detail={"topic": tail.name, "partition": p})
                if offset > max(end[p], tail.positions[p]):
                    raise BadRequest("resume id points past the end of the stream (not from this deployment?)", code="invalid_resume_id")
        sub = Subscriber(channel, tails, self.settings.stream_buffer, resume=vector)
        live_start = [list(t.positions) for t in tails]  # no await between this snapshot and registration
        self._register(sub)
        sub.task = asyncio.create_task(self._catch_up(sub, tails, live_start))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self.index.get(sub.channel.route)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.index[sub.channel.route]
        if sub.task is not None and not sub.task.done():
            sub.task.cancel()

    async def _catch_up(self, sub: Subscriber, tails: list[TopicTail], live_start: list[list[int]]) -> None:
        try:
            wanted = {
                TopicPartition(tail.topic, p): (sub.vector[i][p], live_start[i][p])
                for i, tail in enumerate(tails) for p in tail.partitions if sub.vector[i][p] < live_start[i][p]
            }
            if wanted:
                async with self.catchups:
                    await self._read(sub, wanted)
            while sub.pending:  # live events that arrived meanwhile; new ones keep being appended until we switch
                await sub.queue.put(sub.pending.pop(0))
            sub.catching_up = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - told to the client, who can retry
            log.exception("stream catch-up failed")
            sub.fail(f"could not read the missed events ({exc.__class__.__name__}); reconnect with the same id")

    async def _read(self, sub: Subscriber, wanted: dict[TopicPartition, tuple[int, int]]) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap_servers, enable_auto_commit=False,
                                    group_id=None, isolation_level="read_committed", auto_offset_reset="none")
        await consumer.start()
        try:
            consumer.assign(list(wanted))
            for tp, (start, _) in wanted.items():
                consumer.seek(tp, start)
            remaining = set(wanted)
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=500, max_records=500)
                for tp, messages in batch.items():
                    stop = wanted[tp][1]
                    for msg in messages:
                        if msg.offset >= stop:
                            break
                        out = sub.accept(msg, parse(msg))
                        if out is not None:
                            await sub.queue.put(out)  # catch-up waits for the client instead of overflowing
                for tp in list(remaining):
                    if await consumer.position(tp) >= wanted[tp][1]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()


@asynccontextmanager
async def streams(app: FastAPI) -> AsyncIterator[None]:
    hub = StreamHub(app.state.settings)
    app.state.streams = hub
    # Not a readiness check on purpose: a Kafka outage degrades streams (503), it must not take the API down.
    await hub.start(app.state.settings.stream_connect_wait_seconds)
    try:
        yield
    finally:
        await hub.stop()
