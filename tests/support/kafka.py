"""Reading a topic from the real broker in tests, the way an independent backend team would: a plain
aiokafka consumer with no group, from the beginning to the current end of every partition."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


async def read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[Any] = []
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, msgs in batch.items():
                out.extend(msgs)
                if msgs and msgs[-1].offset + 1 >= end[tp]:
                    remaining.discard(tp)
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        return out
    finally:
        await consumer.stop()


def headers(msg: Any) -> dict[str, str]:
    return {k: v.decode() for k, v in (msg.headers or ())}
