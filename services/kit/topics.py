"""Kafka topics as data: a `Topic` names a stream, its partition count and what its key is.

The catalogue of Agora's topics lives in `services/catalog.py` (one place); this module only knows the
shape of a declaration and how to create declared topics with the admin client. `prefix` lets several
independent deployments (or test runs) share one cluster without seeing each other's streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    partitions: int
    key: str  # what the message key is, in words ("member id", "target id")
    description: str
    retention_ms: int | None = None
    config: dict[str, str] = field(default_factory=dict)

    def qualified(self, prefix: str) -> str:
        return f"{prefix}{self.name}"


async def ensure_topics(bootstrap_servers: str, topics: list[Topic], prefix: str = "", replication_factor: int | None = None) -> list[str]:
    """Create the topics that do not exist yet; return the names created. Existing topics are left alone.

    The replication factor defaults to min(3, brokers in the cluster): 1 on the local single node, 3 on a
    real cluster.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t.qualified(prefix) not in existing]
        if not wanted:
            return []
        if replication_factor is None:
            cluster = await admin.describe_cluster()
            replication_factor = min(3, len(cluster.get("brokers", [])) or 1)
        new = []
        for t in wanted:
            cfg = dict(t.config)
            if t.retention_ms is not None:
                cfg["retention.ms"] = str(t.retention_ms)
            new.append(NewTopic(name=t.qualified(prefix), num_partitions=t.partitions, replication_factor=replication_factor, topic_configs=cfg))
        await admin.create_topics(new, validate_only=False)
        return [n.name for n in new]
    finally:
        await admin.close()

