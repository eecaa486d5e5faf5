"""The network-policies component allows exactly Agora's paths: evaluated over the rendered overlays
with a NetworkPolicy evaluator (netpol.py) for pods labelled as the rendered pod templates are."""

from __future__ import annotations

import pytest

from tests.deploy.manifests import Doc, of_kind, workloads
from tests.deploy.netpol import OUTSIDE, Endpoint, allowed

SERVICES = ["profiles", "connections", "content", "voting"]
KAFKA_POD = Endpoint({"strimzi.io/cluster": "agora", "strimzi.io/kind": "Kafka"}, name="kafka")
POSTGRES_POD = Endpoint({"cnpg.io/cluster": "agora-db", "role": "primary"}, name="postgres")
STRANGER = Endpoint({"app": "something-else"}, name="stranger")


def pods(docs: list[Doc]) -> dict[str, Endpoint]:
    return {wl["metadata"]["name"]: Endpoint(tpl["metadata"]["labels"], name=wl["metadata"]["name"])
            for wl, tpl in workloads(docs)}


@pytest.fixture(params=["dev", "prod"])
def cluster(request: pytest.FixtureRequest, rendered: dict[str, list[Doc]]) -> tuple[list[Doc], dict[str, Endpoint]]:
    docs = rendered[request.param]
    policies = of_kind(docs, "NetworkPolicy")
    assert policies, f"{request.param} renders no NetworkPolicy"
    return policies, pods(docs)


def test_everything_starts_denied(cluster: tuple[list[Doc], dict[str, Endpoint]]) -> None:
    policies, _ = cluster
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny, "no deny-all policy"
    assert not allowed(policies, STRANGER, STRANGER, 8000)


def test_clients_reach_only_the_gateway(cluster: tuple[list[Doc], dict[str, Endpoint]]) -> None:
    policies, p = cluster
    assert allowed(policies, OUTSIDE, p["gateway"], 8000)
    for name in SERVICES + ["voting-tally", "profiles-relay"]:
        assert not allowed(policies, OUTSIDE, p[name], 8000), name
    assert not allowed(policies, OUTSIDE, p["gateway"], 8081)


def test_gateway_reaches_every_service(cluster: tuple[list[Doc], dict[str, Endpoint]]) -> None:
    policies, p = cluster
    for name in SERVICES:
        assert allowed(policies, p["gateway"], p[name], 8000), name
    assert not allowed(policies, p["gateway"], OUTSIDE, 5432), "the gateway holds no database"


def test_services_reach_profiles_for_jwks_but_not_each_other(cluster: tuple[list[Doc], dict[str, Endpoint]]) -> None:
    policies, p = cluster
    for name in ["connections", "content", "voting", "voting-tally", "gateway"]:
        assert allowed(policies, p[name], p["profiles"], 8000), name
    assert not allowed(policies, p["connections"], p["voting"], 8000)
    assert not allowed(policies, p["voting-tally"], p["content"], 8000)


def test_platform_paths(cluster: tuple[list[Doc], dict[str, Endpoint]]) -> None:
    policies, p = cluster
    for name, wl in p.items():
        assert allowed(policies, wl, OUTSIDE, 53, "UDP"), f"{name}: no DNS"
        assert allowed(policies, wl, OUTSIDE, 9092), f"{name}: no Kafka"
    for name in ["migrate", "profiles", "voting-relay", "voting-tally", "content-events"]:
        assert allowed(policies, p[name], OUTSIDE, 5432), name
    assert not allowed(policies, p["topics"], OUTSIDE, 5432)
    assert not allowed(policies, p["profiles"], OUTSIDE, 443), "no general internet egress"


def test_in_cluster_platform(cluster: tuple[list[Doc], dict[str, Endpoint]]) -> None:
    policies, p = cluster
    assert allowed(policies, p["voting-tally"], KAFKA_POD, 9092)
    assert allowed(policies, KAFKA_POD, KAFKA_POD, 9091), "brokers replicate"
    assert allowed(policies, p["migrate"], POSTGRES_POD, 5432)
    assert allowed(policies, POSTGRES_POD, POSTGRES_POD, 5432), "instances replicate"
    assert not allowed(policies, p["gateway"], POSTGRES_POD, 5432)
    assert not allowed(policies, STRANGER, POSTGRES_POD, 5432)
    operator = Endpoint({"app.kubernetes.io/name": "cloudnative-pg"}, same_namespace=False)
    assert allowed(policies, operator, POSTGRES_POD, 8000)


def test_without_policies_everything_is_allowed() -> None:
    # The evaluator's baseline: it is the policies above that deny, not the evaluator.
    assert allowed([], STRANGER, POSTGRES_POD, 5432)
