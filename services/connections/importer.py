"""Load a real social graph as members and connections (provenance "import"), for demos, tests and benchmarks.

    python -m services.connections.importer --dataset reed98|ego-facebook [--data-dir ../shared/data]

Environment: DATABASE_URL (the `connections` schema must be migrated). Node n of a data set becomes the
member `uuid5(IMPORT_NAMESPACE, "<dataset>:<n>")` with handle `<dataset>-<n>`, so a re-run inserts
nothing new (idempotent) and tests can find a node's member id without asking the database.

It writes the schema directly with COPY (both directions of every edge) in one transaction and
publishes NO events: an imported graph is a fixture of its own (ego-Facebook alone would be 88,234
`connection.made` and 4,039 members profiles has never heard of). Other services that need the graph
ask this service; a production migration of real connections would go through the outbox instead.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from services.connections.config import SCHEMA

IMPORT_NAMESPACE = uuid.UUID("5b7f0d52-8f7c-4a55-9a43-2d0b7c3e6a11")
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"
DATASETS = {
    "reed98": "socfb-Reed98/socfb-Reed98.edges",
    "ego-facebook": "ego-facebook/facebook_combined.txt",
}


def member_id(dataset: str, node: int) -> uuid.UUID:
    return uuid.uuid5(IMPORT_NAMESPACE, f"{dataset}:{node}")


def read_edges(path: Path) -> list[tuple[int, int]]:
    """Undirected edges, each once as (low, high); comments, self-loops and duplicates dropped."""
    edges: set[tuple[int, int]] = set()
    with path.open() as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2 or line.startswith(("#", "%")):
                continue
            u, v = int(parts[0]), int(parts[1])
            if u != v:
                edges.add((min(u, v), max(u, v)))
    return sorted(edges)


@dataclass(frozen=True)
class Imported:
    dataset: str
    members: int
    edges: int
    new_members: int
    new_edges: int
    seconds: float


async def import_graph(database_url: str, dataset: str, data_dir: Path = DEFAULT_DATA_DIR) -> Imported:
    """Import a data set from `data_dir` (see DATASETS)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    edges = await asyncio.to_thread(read_edges, data_dir / DATASETS[dataset])
    return await import_edges(database_url, dataset, edges)


async def import_edges(database_url: str, dataset: str, edges: list[tuple[int, int]]) -> Imported:
    """Import undirected edges between numbered nodes as members `member_id(dataset, n)` and connections."""
    started = time.perf_counter()
    nodes = sorted({n for e in edges for n in e})
    ids = {n: member_id(dataset, n) for n in nodes}
    at = datetime.now(UTC)
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE import_members (member_id uuid, handle text) ON COMMIT DROP")
            await conn.execute("CREATE TEMP TABLE import_edges (member_id uuid, other_id uuid) ON COMMIT DROP")
            await conn.copy_records_to_table("import_members", records=[(ids[n], f"{dataset}-{n}") for n in nodes])
            both = [(ids[u], ids[v]) for u, v in edges] + [(ids[v], ids[u]) for u, v in edges]
            await conn.copy_records_to_table("import_edges", records=both)
            new_members = await conn.execute(
                f"""INSERT INTO {SCHEMA}.members (member_id, handle, registered_at)
                    SELECT member_id, handle, $1 FROM import_members ON CONFLICT DO NOTHING""", at)
            new_edges = await conn.execute(
                f"""INSERT INTO {SCHEMA}.edges (member_id, other_id, provenance, made_at)
                    SELECT member_id, other_id, 'import', $1 FROM import_edges ON CONFLICT DO NOTHING""", at)
        # Fresh statistics (and a visibility map for index-only scans) before the first query.
        await conn.execute(f"VACUUM (ANALYZE) {SCHEMA}.edges")
        await conn.execute(f"ANALYZE {SCHEMA}.members")
    finally:
        await conn.close()
    return Imported(dataset, len(nodes), len(edges), int(new_members.split()[-1]), int(new_edges.split()[-1]) // 2,
                    time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    from services.connections.config import Settings
    from services.kit.settings import SettingsError, load_settings

    p = argparse.ArgumentParser(prog="python -m services.connections.importer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    a = p.parse_args(argv)
    try:
        settings = load_settings(Settings)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = asyncio.run(import_graph(settings.database_url, a.dataset, a.data_dir))
    print(f"imported {result.dataset}: {result.members} members ({result.new_members} new), "
          f"{result.edges} connections ({result.new_edges} new) in {result.seconds:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
