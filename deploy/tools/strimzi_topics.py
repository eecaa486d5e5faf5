"""Prints the Strimzi KafkaTopic resources for every topic in services/catalog.py (one place for topics).

    uv run python deploy/tools/strimzi_topics.py > deploy/k8s/components/strimzi/topics.yaml

tests/deploy checks that the committed file says exactly what the catalogue says (names, partitions,
retention, configs), so a catalogue change that is not regenerated fails the suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.catalog import TOPICS  # noqa: E402
from services.kit.topics import Topic  # noqa: E402

CLUSTER = "agora"  # the Kafka resource in components/strimzi/kafka.yaml
REPLICAS = 3  # overlays with a one-node cluster patch this down


def kafka_topic(topic: Topic) -> dict:
    config = dict(topic.config)
    if topic.retention_ms is not None:
        config["retention.ms"] = topic.retention_ms
    spec: dict = {"topicName": topic.name, "partitions": topic.partitions, "replicas": REPLICAS}
    if config:
        spec["config"] = config
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {"name": topic.name, "labels": {"strimzi.io/cluster": CLUSTER}},
        "spec": spec,
    }


def main() -> None:
    out = [
        "# Generated from services/catalog.py by deploy/tools/strimzi_topics.py; do not edit by hand.\n",
        "# Partition counts bound consumer parallelism (agora.votes: the tally consumer's replicas).\n",
    ]
    for i, topic in enumerate(TOPICS):
        if i:
            out.append("---\n")
        out.append(f"# {topic.name} (key: {topic.key}): {topic.description}\n")
        out.append(yaml.safe_dump(kafka_topic(topic), sort_keys=False))
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
