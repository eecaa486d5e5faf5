"""Kafka topics and tally scaling agree with services/catalog.py, the one place topics are declared."""

from __future__ import annotations

import importlib.util
import io
from contextlib import redirect_stdout

import pytest

from services.catalog import TOPICS, VOTES
from tests.deploy.manifests import DEPLOY, K8S, OVERLAYS, Doc, of_kind


def test_strimzi_topics_are_the_catalog(rendered: dict[str, list[Doc]]) -> None:
    topics = {d["spec"]["topicName"]: d for d in of_kind(rendered["dev"], "KafkaTopic")}
    assert set(topics) == {t.name for t in TOPICS}
    for t in TOPICS:
        spec = topics[t.name]["spec"]
        assert spec["partitions"] == t.partitions, t.name
        expected_config = {k: str(v) for k, v in t.config.items()}
        if t.retention_ms is not None:
            expected_config["retention.ms"] = str(t.retention_ms)
        assert {k: str(v) for k, v in (spec.get("config") or {}).items()} == expected_config, t.name
        assert topics[t.name]["metadata"]["labels"]["strimzi.io/cluster"] == "agora"


def test_committed_topics_file_is_regenerated() -> None:
    spec = importlib.util.spec_from_file_location("strimzi_topics", DEPLOY / "tools" / "strimzi_topics.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with redirect_stdout(out):
        module.main()
    committed = (K8S / "components" / "strimzi" / "topics.yaml").read_text()
    assert committed == out.getvalue(), "run: uv run python deploy/tools/strimzi_topics.py > deploy/k8s/components/strimzi/topics.yaml"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tally_never_outgrows_the_votes_partitions(rendered: dict[str, list[Doc]], overlay: str) -> None:
    docs = rendered[overlay]
    tally = next(d for d in of_kind(docs, "Deployment") if d["metadata"]["name"] == "voting-tally")
    assert tally["spec"]["replicas"] <= VOTES.partitions
    for scaler in of_kind(docs, "ScaledObject"):
        if scaler["spec"]["scaleTargetRef"]["name"] == "voting-tally":
            assert scaler["spec"]["maxReplicaCount"] <= VOTES.partitions
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        if hpa["spec"]["scaleTargetRef"]["name"] == "voting-tally":
            assert hpa["spec"]["maxReplicas"] <= VOTES.partitions


def test_tally_scales_on_the_lag_of_its_own_group(rendered: dict[str, list[Doc]]) -> None:
    scalers = [s for s in of_kind(rendered["prod"], "ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == "voting-tally"]
    assert len(scalers) == 1
    (trigger,) = scalers[0]["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["topic"] == VOTES.name
    assert trigger["metadata"]["consumerGroup"] == "voting.tally"
    # The bootstrap servers come from the Deployment's own environment (agora-config), never a second copy.
    assert trigger["metadata"]["bootstrapServersFromEnv"] == "KAFKA_BOOTSTRAP_SERVERS"
    assert scalers[0]["spec"]["maxReplicaCount"] == VOTES.partitions


def test_in_cluster_kafka_is_what_processes_use(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["dev"]
    (kafka,) = of_kind(docs, "Kafka")
    (config,) = of_kind(docs, "ConfigMap")
    listener = next(lst for lst in kafka["spec"]["kafka"]["listeners"] if not lst["tls"])
    assert config["data"]["KAFKA_BOOTSTRAP_SERVERS"] == f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
    replicas = sum(p["spec"]["replicas"] for p in of_kind(docs, "KafkaNodePool") if "broker" in p["spec"]["roles"])
    for topic in of_kind(docs, "KafkaTopic"):
        assert topic["spec"]["replicas"] <= replicas, topic["metadata"]["name"]
