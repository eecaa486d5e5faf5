"""Quality of "people you may know" on real graphs: hide 10% of the edges, rank from the rest.

    uv run python bench/connections_suggestions.py [--members 600] [--seed 1] [--datasets reed98 ego-facebook]

For each data set: 10% of the edges (random, seeded) are hidden; the other 90% are imported with the
importer into a scratch database. For a random sample of members that have at least one hidden and one
remaining edge, the service's own suggestion query (Graph.suggestions: friends of friends ranked by
Adamic–Adar, the production SQL) returns its top 10, and a plain common-neighbours ranking is computed
in Python from the same 90% in the same run as the baseline (ties broken by node id). Prints the mean
precision@10 and recall@10 per member (a hidden edge is relevant to both of its ends) and the hit rate
(members with at least one hidden edge in their 10). Topic weighting is not exercised: the data sets
carry no topics. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.connections_scratch import scratch_database  # noqa: E402
from services.connections.config import SCHEMA, Settings  # noqa: E402
from services.connections.importer import DATASETS, DEFAULT_DATA_DIR, import_edges, member_id, read_edges  # noqa: E402
from services.connections.repository import Graph  # noqa: E402
from services.kit.db import make_engine, make_sessions  # noqa: E402

K = 10


def common_neighbours_top(adj: dict[int, set[int]], u: int, k: int) -> list[int]:
    counts: dict[int, int] = defaultdict(int)
    for w in adj[u]:
        for c in adj[w]:
            if c != u and c not in adj[u]:
                counts[c] += 1
    return [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def scores(ranked: list[int], relevant: set[int]) -> tuple[float, float, int]:
    hits = len(set(ranked) & relevant)
    return hits / K, hits / len(relevant), int(hits > 0)


async def evaluate(dataset: str, sample: int, seed: int) -> None:
    edges = read_edges(DEFAULT_DATA_DIR / DATASETS[dataset])
    rng = random.Random(seed)
    hidden = set(rng.sample(edges, len(edges) // 10))
    train = [e for e in edges if e not in hidden]
    adj: dict[int, set[int]] = defaultdict(set)
    for u, v in train:
        adj[u].add(v)
        adj[v].add(u)
    relevant: dict[int, set[int]] = defaultdict(set)
    for u, v in hidden:
        relevant[u].add(v)
        relevant[v].add(u)
    eligible = sorted(u for u in relevant if adj.get(u))
    members = rng.sample(eligible, min(sample, len(eligible)))
    node_of = {member_id(dataset, n): n for n in adj}

    async with scratch_database("suggest") as url:
        await import_edges(url, dataset, train)
        engine = make_engine(Settings(database_url=url, kafka_bootstrap_servers="127.0.0.1:1", db_pool_size=1), SCHEMA, pool_size=1)
        sessions = make_sessions(engine)
        ours, baseline, ms = [], [], []
        for u in members:
            t = time.perf_counter()
            async with sessions() as s, s.begin():
                rows = await Graph(s).suggestions(member_id(dataset, u), K)
            ms.append((time.perf_counter() - t) * 1000)
            ours.append(scores([node_of[r["member_id"]] for r in rows], relevant[u]))
            baseline.append(scores(common_neighbours_top(adj, u, K), relevant[u]))
        await engine.dispose()

    print(f"{dataset}: {len(edges)} edges, {len(hidden)} hidden (10%), {len(members)} of {len(eligible)} eligible members evaluated, seed {seed}")
    for name, rows in (("Adamic-Adar (service SQL)", ours), ("common neighbours (baseline)", baseline)):
        p = statistics.fmean(r[0] for r in rows)
        r = statistics.fmean(r[1] for r in rows)
        h = statistics.fmean(r[2] for r in rows)
        print(f"  {name:<30} precision@10 {p:.4f}   recall@10 {r:.4f}   hit rate {h:.3f}")
    print(f"  suggestion query: p50 {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms")


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--members", type=int, default=600)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--datasets", nargs="+", default=["reed98", "ego-facebook"], choices=sorted(DATASETS))
    a = p.parse_args()
    for dataset in a.datasets:
        await evaluate(dataset, a.members, a.seed)


if __name__ == "__main__":
    asyncio.run(main())
