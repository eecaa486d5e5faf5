"""The bounded bidirectional search against networkx on random graphs, through an in-memory GraphReader."""

from __future__ import annotations

import math
import random
import uuid

import networkx as nx

from services.connections.degrees import separation


class DictGraph:
    """A GraphReader over an adjacency dict; counts the questions asked."""

    def __init__(self, graph: nx.Graph) -> None:
        self.adj = {n: set(graph[n]) for n in graph}
        self.bridges = 0

    async def neighbour_sets(self, a: uuid.UUID, b: uuid.UUID) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
        return set(self.adj.get(a, ())), set(self.adj.get(b, ()))

    async def bridge(self, left: set[uuid.UUID], right: set[uuid.UUID]) -> tuple[uuid.UUID, uuid.UUID] | None:
        self.bridges += 1
        for x in sorted(left):
            for y in sorted(self.adj[x]):
                if y in right:
                    return x, y
        return None


def random_graph(seed: int) -> nx.Graph:
    g = nx.gnm_random_graph(120, 160, seed=seed)  # sparse: distances 1..7 and disconnected pairs all occur
    return nx.relabel_nodes(g, {n: uuid.UUID(int=n + 1) for n in g})


async def test_degree_mutuals_and_path_match_networkx() -> None:
    seen: set[int | None] = set()
    for seed in range(3):
        g = random_graph(seed)
        reader = DictGraph(g)
        rng = random.Random(seed)
        nodes = sorted(g)
        for _ in range(300):
            a, b = rng.sample(nodes, 2)
            try:
                d = nx.shortest_path_length(g, a, b)
            except nx.NetworkXNoPath:
                d = math.inf
            sep = await separation(reader, a, b)
            expected = d if d <= 3 else None
            assert sep.degree == expected
            assert sep.mutuals == set(nx.common_neighbors(g, a, b))
            if expected is None:
                assert sep.path is None
            else:
                assert sep.path is not None and len(sep.path) == d + 1 and (sep.path[0], sep.path[-1]) == (a, b)
                assert all(g.has_edge(x, y) for x, y in zip(sep.path, sep.path[1:]))
            seen.add(expected)
    assert seen == {1, 2, 3, None}


async def test_self_and_one_bridge_query_at_most() -> None:
    g = random_graph(5)
    reader = DictGraph(g)
    a = next(iter(g))
    assert (await separation(reader, a, a)).degree == 0
    nodes = sorted(g)
    for b in nodes[:50]:
        before = reader.bridges
        await separation(reader, a, b)
        assert reader.bridges - before <= 1  # bounded: never more than one hop beyond the two neighbourhoods


async def test_hidden_members_are_never_on_a_path() -> None:
    a, m, b, x, y = (uuid.UUID(int=i) for i in range(1, 6))
    g = nx.Graph([(a, m), (m, b), (a, x), (x, y), (y, b)])
    sep = await separation(DictGraph(g), a, b, hidden={m})
    assert sep.degree == 3 and sep.path == [a, x, y, b] and sep.mutuals == set()
