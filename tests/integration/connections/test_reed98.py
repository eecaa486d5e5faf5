"""Degrees, mutual connections, paths and suggestions on the real Reed98 graph (962 members, 18,812
connections) imported by the importer, checked against networkx computing the same things independently."""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

import networkx as nx
import pytest

from services.connections.importer import DATASETS, DEFAULT_DATA_DIR, import_graph, member_id, read_edges



@pytest.fixture(scope="module")
async def reed98(test_infra: Any) -> nx.Graph:
    result = await import_graph(test_infra.database_url, "reed98")
    again = await import_graph(test_infra.database_url, "reed98")
    assert (result.members, result.edges) == (962, 18812)
    assert (again.new_members, again.new_edges) == (0, 0)  # a re-run is idempotent
    graph = nx.Graph()
    graph.add_edges_from(read_edges(DEFAULT_DATA_DIR / DATASETS["reed98"]))
    return graph


def mid(node: int) -> uuid.UUID:
    return member_id("reed98", node)


def pairs_by_distance(graph: nx.Graph, rng: random.Random, per_distance: int) -> dict[int, list[tuple[int, int]]]:
    found: dict[int, list[tuple[int, int]]] = {}
    nodes = sorted(graph)
    for source in rng.sample(nodes, 40):
        dist = nx.single_source_shortest_path_length(graph, source)
        for target in rng.sample(nodes, 60):
            d = dist.get(target, math.inf)
            key = int(min(d, 4))
            if target != source and len(found.setdefault(key, [])) < per_distance:
                found[key].append((source, target))
    return found


async def test_degrees_mutuals_and_paths_match_networkx(reed98: nx.Graph, api: Any, auth: Any) -> None:
    rng = random.Random(98)
    pairs = pairs_by_distance(reed98, rng, per_distance=12)
    assert {1, 2, 3} <= set(pairs), "the sample must cover 1st, 2nd and 3rd degree"
    handle = {mid(n): f"reed98-{n}" for n in reed98}
    checked = 0
    for distance, sample in sorted(pairs.items()):
        for u, v in sample:
            r = await api.get(f"/v1/degrees/{mid(v)}", headers=auth(mid(u)))
            assert r.status_code == 200, r.text
            body = r.json()
            expected = distance if distance <= 3 else None
            assert body["degree"] == expected, (u, v, distance, body)
            common = set(nx.common_neighbors(reed98, u, v))
            assert body["mutual_count"] == len(common)
            shown = [m["member_id"] for m in body["mutuals"]]
            assert shown == [str(mid(n)) for n in sorted(common, key=lambda n: f"reed98-{n}")][:20]
            if expected is None:
                assert body["path"] is None
                continue
            path = [uuid.UUID(p["member_id"]) for p in body["path"]]
            assert len(path) == distance + 1 and path[0] == mid(u) and path[-1] == mid(v)
            nodes = [int(handle[p].split("-")[1]) for p in path]
            assert all(reed98.has_edge(x, y) for x, y in zip(nodes, nodes[1:])), nodes
            checked += 1
    assert checked >= 30
    me = (await api.get(f"/v1/degrees/{mid(1)}", headers=auth(mid(1)))).json()
    assert (me["degree"], me["label"]) == (0, "self")


async def test_suggestions_are_adamic_adar_over_friends_of_friends(reed98: nx.Graph, api: Any, auth: Any) -> None:
    rng = random.Random(7)
    for u in rng.sample(sorted(reed98), 5):
        neighbours = set(reed98[u])
        scores: dict[int, float] = {}
        for w in neighbours:
            for c in reed98[w]:
                if c != u and c not in neighbours:
                    scores[c] = scores.get(c, 0.0) + 1 / math.log(max(reed98.degree(w), 2))
        expected_top = sorted(scores.values(), reverse=True)[:10]
        r = await api.get("/v1/suggestions", headers=auth(mid(u)))
        assert r.status_code == 200
        items = r.json()["items"]
        assert [round(i["score"], 9) for i in items] == [round(s, 9) for s in expected_top]
        by_member = {mid(c): c for c in scores}
        for item in items:
            c = by_member[uuid.UUID(item["member_id"])]
            assert item["mutual_count"] == len(neighbours & set(reed98[c]))
            assert math.isclose(item["score"], scores[c], rel_tol=1e-9)
