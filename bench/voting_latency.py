"""From HTTP accept to tally visible: the latency of a vote through the running voting system, offered
open-loop at a fixed rate (issue #6: p99 under 2 s at 5,000 votes/s offered).

    uv run python bench/voting_latency.py [--rate 5000] [--seconds 30] [--servers 1] [--relays 1]
    uv run python bench/voting_latency.py --via outbox --rate 5000 --relays 2     # relay + tally consumer alone

Starts, as processes on its own database (`agora_latency_<hex>`, dropped at the end) and topic prefix
(deleted at the end), what carries a vote: `agora serve voting` (--servers of them; the client spreads
votes over them), `agora relay voting` (--relays of them) and `agora consume voting tally`. Targets are
inserted straight into `voting.targets` (a bench shortcut: in the system they come from content's
post.created events). Voters are members with access tokens signed by the bench (tests/support/tokens.py:
an Ed25519 key whose JWKS the services read from a file, AGORA_JWKS_URL), minted before the run.

--via http (default): the client sends `POST /v1/votes` open-loop: vote i is due at i / rate seconds,
whether or not earlier votes were answered (at most --connections in flight; a vote waiting for a
connection is late, and the lateness counts in its accept latency).
--per-request N (http): one voter's N consecutive votes go as one `POST /v1/votes/batch` when the last of
them is due (a client syncing its offline queue); each vote's accept latency still counts from its own due time.
--via outbox: no HTTP; the vote.cast outbox rows the API's transaction would write (built by kit.outbox,
before the clock starts) are inserted every --tick seconds; "accepted" is that insert's commit. This
measures the relay and the tally consumer alone at rates one Python HTTP client and server cannot reach.

Every vote is the first +1 of a random (voter, target) pair, so a target's `ups` counts the votes
applied to it; the bench polls `voting.tallies` every --poll seconds and, when a target's `ups` reaches
k, takes its k-th accepted vote as visible at that poll (resolution: the poll interval; a vote whose
tally was seen before the client read its 202 counts 0). It prints, for the votes of the measured window
(after --warmup seconds):
  accept      due time → 202 (the baseline: what the HTTP accept alone costs, queueing included)
  visible     202 → its tally visible in PostgreSQL (what GET /v1/tallies/{id} reads)
  end to end  due time → visible
as p50 / p99 / max, with the offered and achieved rates, the relay's share (outbox created_at →
published_at) and the CPU each process used, and per accepted vote: the voting servers' CPU and the
PostgreSQL backends' (all of the bench database's: API, relay, tally consumer, the bench's poll; read from
/proc, so run it on the database's host). On this shared box CPU per vote is the figure to compare across
runs: other load stretches wall time far more than CPU time. If the client or the services cannot keep
up with --rate, the achieved rate says so.
Environment: DATABASE_URL (an admin URL on the server), KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import PgCpu, migrated_database  # noqa: E402
from services.catalog import TOPICS  # noqa: E402
from services.kit.topics import ensure_topics  # noqa: E402
from tests.support import infra  # noqa: E402
from tests.support.processes import Proc, free_port  # noqa: E402
from tests.support.tokens import TestIssuer  # noqa: E402

LOGS = ROOT / ".run" / "logs" / "bench"


# The infrastructure the test suite uses (DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS, else the local platform).
admin_url = infra.base_database_url
bootstrap = infra.bootstrap_servers
with_db = infra._with_db


def start(name: str, args: list[str], env: dict[str, str], port_var: str | None) -> Proc:
    LOGS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full = dict(os.environ, **env)
    full[port_var or "AGORA_HEALTH_PORT"] = str(port)
    log = LOGS / f"latency-{name}-{int(time.time() * 1000)}.log"
    with log.open("wb") as fh:
        popen = subprocess.Popen([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=full, stdout=fh, stderr=subprocess.STDOUT)
    return Proc(name, popen, port, log)


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


async def setup(database: str, prefix: str, n_targets: int) -> list[str]:
    await migrated_database(database, "voting")
    await ensure_topics(bootstrap(), TOPICS, prefix)
    targets = [str(uuid.uuid4()) for _ in range(n_targets)]
    conn = await asyncpg.connect(with_db(admin_url(), database))
    try:
        # A bench shortcut: in the system, targets come from content's post.created / comment.created events.
        await conn.copy_records_to_table("targets", schema_name="voting", columns=["target_id", "kind", "author_id", "created_at"],
                                         records=[(uuid.UUID(t), "post", uuid.uuid4(), _now()) for t in targets])
    finally:
        await conn.close()
    return targets


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def cleanup(database: str, prefix: str) -> None:
    await infra.drop_database(admin_url(), database)
    await infra.delete_topics(bootstrap(), prefix)


class Run:
    def __init__(self, a: argparse.Namespace, urls: list[str], database_url: str, targets: list[str], tokens: list[str]) -> None:
        self.a = a
        self.urls = urls
        self.database_url = database_url
        self.targets = targets
        self.tokens = tokens
        self.due: list[float] = []  # per vote: when it was due
        self.sent: list[float] = []
        self.accepted: list[float] = []  # 202 time (nan: failed)
        self.visible: list[float] = []
        self.per_target: dict[int, list[int]] = defaultdict(list)  # target index -> votes in order of their 202
        self.seen: dict[int, int] = defaultdict(int)  # target index -> votes already marked visible
        self.ups: dict[int, int] = defaultdict(int)  # target index -> ups last polled
        self.errors: dict[str, int] = defaultdict(int)
        self.done = False
        self.where = ""
        self.pg_cpu = 0.0

    def plan(self, total: int) -> None:
        # (voter, target) drawn at random, each pair at most once (every vote is a new +1). Random, not a
        # pattern: voters sweeping targets in step would be lockstep rings to the decision pipeline.
        # With --per-request N, each run of N votes is one voter's (an offline queue sent as one batch).
        rnd = random.Random(20261127)
        used: set[tuple[int, int]] = set()
        self.pairs: list[tuple[int, int]] = []
        n = self.a.per_request
        while len(self.pairs) < total:
            v = rnd.randrange(len(self.tokens))
            group: list[tuple[int, int]] = []
            while len(group) < min(n, total - len(self.pairs)):
                p = (v, rnd.randrange(len(self.targets)))
                if p not in used:
                    used.add(p)
                    group.append(p)
            self.pairs.extend(group)

    def pair(self, i: int) -> tuple[int, int]:
        return self.pairs[i]

    async def send(self, session: aiohttp.ClientSession, i: int) -> None:
        v, t = self.pair(i)
        self.sent[i] = time.perf_counter()
        url = self.urls[i % len(self.urls)] + "/v1/votes"
        try:
            async with session.post(url, json={"target_id": self.targets[t], "value": 1},
                                    headers={"authorization": "Bearer " + self.tokens[v], "x-agora-client-origin": f"o{v}",
                                             "x-agora-client-device": f"d{v % 300}"}) as r:
                await r.read()
                if r.status != 202:
                    self.errors[f"HTTP {r.status}"] += 1
                    return
        except Exception as exc:  # noqa: BLE001 - counted and reported
            self.errors[type(exc).__name__] += 1
            return
        now = time.perf_counter()
        self.accepted[i] = now
        order = self.per_target[t]
        order.append(i)
        if len(order) <= self.ups[t]:  # its tally was polled before this client read the 202
            self.visible[i] = now
            self.seen[t] = len(order)

    async def send_batch(self, session: aiohttp.ClientSession, first: int, last: int) -> None:
        """Votes first..last (one voter's) as one POST /v1/votes/batch."""
        v = self.pair(first)[0]
        now = time.perf_counter()
        for i in range(first, last + 1):
            self.sent[i] = now
        url = self.urls[(first // self.a.per_request) % len(self.urls)] + "/v1/votes/batch"
        body = {"votes": [{"target_id": self.targets[self.pair(i)[1]], "value": 1} for i in range(first, last + 1)]}
        try:
            async with session.post(url, json=body, headers={"authorization": "Bearer " + self.tokens[v], "x-agora-client-origin": f"o{v}",
                                                             "x-agora-client-device": f"d{v % 300}"}) as r:
                await r.read()
                if r.status != 202:
                    self.errors[f"HTTP {r.status}"] += last - first + 1
                    return
        except Exception as exc:  # noqa: BLE001 - counted and reported
            self.errors[type(exc).__name__] += last - first + 1
            return
        now = time.perf_counter()
        for i in range(first, last + 1):
            t = self.pair(i)[1]
            self.accepted[i] = now
            order = self.per_target[t]
            order.append(i)
            if len(order) <= self.ups[t]:
                self.visible[i] = now
                self.seen[t] = len(order)

    async def offer(self, total: int) -> None:
        connector = aiohttp.TCPConnector(limit=self.a.connections, limit_per_host=self.a.connections)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
            self.due = [0.0] * total
            self.sent = [float("nan")] * total
            self.accepted = [float("nan")] * total
            self.visible = [float("nan")] * total
            start = time.perf_counter() + 0.1
            tasks = set()
            i = 0
            while i < total:
                now = time.perf_counter()
                n = self.a.per_request
                while i < total and start + min(i + n - 1, total - 1) / self.a.rate <= now:
                    last = min(i + n - 1, total - 1)
                    for k in range(i, last + 1):
                        self.due[k] = start + k / self.a.rate  # a vote waits in its client's queue until the batch goes
                    task = asyncio.ensure_future(self.send(session, i) if n == 1 else self.send_batch(session, i, last))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    i = last + 1
                await asyncio.sleep(0.001)
            self.offer_end = time.perf_counter()
            if tasks:
                await asyncio.wait(tasks, timeout=60)

    async def offer_outbox(self, total: int) -> None:
        """--via outbox: what the API's transaction writes (a vote.cast outbox row, built by kit.outbox as
        the API builds it), inserted straight into voting.outbox every --tick seconds; "accepted" is the
        commit of the insert (where the API would answer 202). Measures relay + tally consumer alone."""
        from datetime import UTC, datetime

        from services.kit.outbox import Outbox
        from services.voting import events
        from services.voting.models import outbox as outbox_table

        box = Outbox(outbox_table, source="agora/voting")
        sql = ("INSERT INTO voting.outbox (id, topic, key, type, headers, payload) "
               "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bytea[])")
        authors = [uuid.uuid4() for _ in self.targets]
        voters = [uuid.uuid4() for _ in self.tokens]
        targets = [uuid.UUID(t) for t in self.targets]
        self.due = [0.0] * total
        self.sent = [float("nan")] * total
        self.accepted = [float("nan")] * total
        self.visible = [float("nan")] * total
        # Built before the clock starts (as the API would build them, through kit.outbox), so that the
        # client's own CPU does not limit the rate; cast_at is the vote's planned time.
        base = datetime.now(UTC).timestamp()
        built = []
        for i in range(total):
            v, t = self.pair(i)
            data = events.VoteCast(vote_id=uuid.uuid4(), voter_id=voters[v], target_id=targets[t], target_kind="post", author_id=authors[t],
                                   value=1, cast_at=datetime.fromtimestamp(base + i / self.a.rate, UTC), origin=f"o{v}", device=f"d{v % 300}")
            _, row = box.build(events.VOTE_CAST, data, key=self.targets[t], subject=self.targets[t])
            built.append((t, row["id"], row["topic"], row["key"], row["type"], json.dumps(row["headers"]), row["payload"]))
        conn = await asyncpg.connect(self.database_url)
        try:
            start = time.perf_counter() + 0.1
            i = 0
            while i < total:
                now = time.perf_counter()
                batch = []
                while i < total and start + i / self.a.rate <= now:
                    self.due[i] = start + i / self.a.rate
                    batch.append((i, built[i][0], built[i]))
                    i += 1
                if batch:
                    sent = time.perf_counter()
                    await conn.execute(sql, *([r[k] for _, _, r in batch] for k in range(1, 7)))
                    done = time.perf_counter()
                    for k, t, _ in batch:
                        self.sent[k] = sent
                        self.accepted[k] = done
                        self.per_target[t].append(k)
                await asyncio.sleep(self.a.tick)
            self.offer_end = time.perf_counter()
        finally:
            await conn.close()

    async def poll(self) -> None:
        conn = await asyncpg.connect(self.database_url)
        index = {uuid.UUID(t): k for k, t in enumerate(self.targets)}
        try:
            while not self.done:
                rows = await conn.fetch("SELECT target_id, ups FROM voting.tallies")
                now = time.perf_counter()
                for target_id, ups in rows:
                    k = index.get(target_id)
                    if k is None:
                        continue
                    self.ups[k] = ups
                    seen = self.seen[k]
                    if ups > seen:
                        order = self.per_target[k]
                        for i in order[seen:ups]:
                            self.visible[i] = now
                        self.seen[k] = min(ups, len(order))
                await asyncio.sleep(self.a.poll)
        finally:
            await conn.close()


async def measure(a: argparse.Namespace, urls: list[str], database_url: str, targets: list[str], tokens: list[str]) -> Run:
    run = Run(a, urls, database_url, targets, tokens)
    total = int(a.rate * (a.warmup + a.seconds))
    run.plan(total)
    pg = PgCpu(database_url)
    pg.begin()
    poller = asyncio.ensure_future(run.poll())
    await (run.offer_outbox(total) if a.via == "outbox" else run.offer(total))
    # wait for the tail to become visible (or give up after --drain seconds)
    deadline = time.perf_counter() + a.drain
    while time.perf_counter() < deadline:
        if all(x == x for x, acc in zip(run.visible, run.accepted, strict=True) if acc == acc):  # nan != nan
            break
        await asyncio.sleep(0.2)
    run.done = True
    await poller
    run.pg_cpu = pg.end()
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT count(*) FILTER (WHERE type = 'vote.cast') AS votes, "
                                  "count(*) FILTER (WHERE type = 'vote.cast' AND published_at IS NOT NULL) AS relayed, "
                                  "count(*) FILTER (WHERE type <> 'vote.cast') AS others FROM voting.outbox")
        relay = await conn.fetchrow("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY x) AS p99 "
                                    "FROM (SELECT extract(epoch FROM published_at - created_at) AS x FROM voting.outbox "
                                    "WHERE type = 'vote.cast' AND published_at IS NOT NULL) r")
        batches = await conn.fetchrow("SELECT count(DISTINCT created_at) AS n, extract(epoch FROM max(created_at) - min(created_at)) AS span, "
                                      "count(*) AS events FROM voting.outbox WHERE type = 'tally.updated'")
        consumed = await conn.fetchval("SELECT coalesce(sum(next_offset), 0) FROM voting.consumer_offsets WHERE consumer = 'voting.tally'")
        run.where = (f"at the end: {row['votes']:,} vote.cast in the outbox, {row['relayed']:,} relayed; the tally consumer stored offsets "
                     f"past {consumed:,} votes; {row['others']:,} other outbox rows (tally.updated, integrity events);\n"
                     f"the relay's part (vote.cast created → published, all votes): p50 {(relay['p50'] or 0) * 1000:,.0f} ms, "
                     f"p99 {(relay['p99'] or 0) * 1000:,.0f} ms; the tally consumer committed {batches['n']:,} batches with tallies, "
                     f"one every {(batches['span'] or 0) / max(1, batches['n'] - 1) * 1000:,.0f} ms on average, "
                     f"{batches['events'] / max(1, batches['n']):,.0f} tally.updated each")
    finally:
        await conn.close()
    return run


def report(a: argparse.Namespace, run: Run, cpu: dict[str, float], wall: float) -> None:
    n = len(run.due)
    first = int(a.rate * a.warmup)
    window = range(first, n)
    acc = [i for i in window if run.accepted[i] == run.accepted[i]]
    vis = [i for i in acc if run.visible[i] == run.visible[i]]
    span = run.due[-1] - run.due[first] if n > first + 1 else float("nan")
    acc_times = sorted(run.accepted[i] for i in acc)
    achieved = (len(acc_times) - 1) / (acc_times[-1] - acc_times[0]) if len(acc_times) > 1 else 0.0
    sent_span = max(run.sent[i] for i in window) - min(run.sent[i] for i in window)
    how = (f"over {len(run.urls)} voting server(s), {a.connections} connections"
           + (f", {a.per_request} votes per request (POST /v1/votes/batch)" if a.per_request > 1 else "") if a.via == "http"
           else f"as vote.cast outbox rows inserted every {a.tick * 1000:.0f} ms (no HTTP: 'accept' = the insert's commit)")
    print(f"\noffered {a.rate:,.0f} votes/s open-loop for {a.seconds:.0f} s (+{a.warmup:.0f} s warm-up) {how}: {n - first:,} votes in the window")
    print(f"sent at {(n - first - 1) / sent_span:,.0f} votes/s (client), accepted at {achieved:,.0f} votes/s; "
          f"{len(acc):,} accepted, {len(vis):,} visible, errors {dict(run.errors) or 'none'}; due span {span:.1f} s")
    ok = "202" if a.via == "http" else "commit"
    print(run.where)
    rows = [
        (f"accept: due → {ok} (baseline)", [run.accepted[i] - run.due[i] for i in acc]),
        (f"accept: sent → {ok}", [run.accepted[i] - run.sent[i] for i in acc]),
        (f"visible: {ok} → tally visible", [run.visible[i] - run.accepted[i] for i in vis]),
        ("end to end: due → tally visible", [run.visible[i] - run.due[i] for i in vis]),
    ]
    for label, xs in rows:
        print(f"{label:<36} p50 {pct(xs, 50) * 1000:>8,.0f} ms   p99 {pct(xs, 99) * 1000:>8,.0f} ms   max {max(xs, default=float('nan')) * 1000:>8,.0f} ms")
    goal = pct([run.visible[i] - run.accepted[i] for i in vis], 99)
    if a.via == "outbox":
        print(f"relay + tally consumer alone: commit → visible p99 {goal:.2f} s at {achieved:,.0f} votes/s (the HTTP goal needs --via http)")
    else:
        print(f"goal (202 → visible p99 < 2 s at 5,000 votes/s offered): p99 {goal:.2f} s at {achieved:,.0f} accepted votes/s "
              f"({'met' if goal < 2 and achieved >= 0.98 * 5000 and len(vis) == len(acc) else 'NOT met'})")
    print("CPU seconds per process over the run: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
          + f", PostgreSQL backends {run.pg_cpu:.1f} (wall {wall:.1f} s; {psutil.cpu_count()} cores; load average now "
          + "/".join(f"{x:.1f}" for x in os.getloadavg()) + f"; poll every {a.poll * 1000:.0f} ms)")
    every = sum(1 for x in run.accepted if x == x)
    servers = sum(v for k, v in cpu.items() if k.startswith("voting"))
    if every:
        per = "voting servers' CPU {:,.0f} µs, ".format(servers / every * 1e6) if a.via == "http" else ""
        print(f"per accepted vote ({every:,} over the whole run): {per}PostgreSQL backends {run.pg_cpu / every * 1e6:,.0f} µs, "
              f"relay(s) {sum(v for k, v in cpu.items() if k.startswith('relay')) / every * 1e6:,.0f} µs, "
              f"tally consumer {cpu.get('tally', 0.0) / every * 1e6:,.0f} µs, bench client {cpu['client'] / every * 1e6:,.0f} µs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=5000.0, help="votes/s offered")
    ap.add_argument("--seconds", type=float, default=30.0, help="measured window")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--drain", type=float, default=30.0, help="most seconds to wait for the tail to become visible")
    ap.add_argument("--targets", type=int, default=5000)
    ap.add_argument("--voters", type=int, default=50000)
    ap.add_argument("--servers", type=int, default=1, help="voting HTTP server processes")
    ap.add_argument("--relays", type=int, default=1, help="`agora relay voting` processes (they share the outbox with SKIP LOCKED)")
    ap.add_argument("--connections", type=int, default=256)
    ap.add_argument("--poll", type=float, default=0.02, help="seconds between polls of voting.tallies")
    ap.add_argument("--batch", type=int, default=0, help="VOTING_TALLY_BATCH_SIZE (0: the default)")
    ap.add_argument("--per-request", type=int, default=1, help="--via http: votes per request; above 1, one voter's "
                    "consecutive votes go as one POST /v1/votes/batch (a client's offline queue), each due at its own time")
    ap.add_argument("--via", choices=["http", "outbox"], default="http",
                    help="http: POST /v1/votes; outbox: insert the API's vote.cast outbox rows directly (relay + tally consumer alone)")
    ap.add_argument("--tick", type=float, default=0.01, help="--via outbox: seconds between insert transactions")
    a = ap.parse_args()
    if a.rate * (a.warmup + a.seconds) > a.voters * a.targets / 4:
        raise SystemExit("too few (voter, target) pairs for that many votes")
    import uvloop

    run_id = secrets.token_hex(4)
    database, prefix = f"agora_latency_{run_id}", f"lat{run_id}."
    procs: list[Proc] = []
    with tempfile.TemporaryDirectory() as tmp:
        issuer = TestIssuer(Path(tmp) / "jwks.json")
        t = time.perf_counter()
        tokens = [issuer.token(uuid.uuid4(), ttl=3600) for _ in range(a.voters)]
        print(f"minted {len(tokens):,} access tokens in {time.perf_counter() - t:.1f} s")
        targets = asyncio.run(setup(database, prefix, a.targets))
        try:
            env = {"DATABASE_URL": with_db(admin_url(), database), "KAFKA_BOOTSTRAP_SERVERS": bootstrap(), "AGORA_TOPIC_PREFIX": prefix,
                   "AGORA_JWKS_URL": issuer.jwks_url, "AGORA_LOG_LEVEL": "WARNING"}
            if a.batch:
                env["VOTING_TALLY_BATCH_SIZE"] = str(a.batch)
            procs.append(start("tally", ["consume", "voting", "tally"], env, None))
            for k in range(a.relays):
                procs.append(start(f"relay{k}", ["relay", "voting"], env, None))
            for k in range(a.servers if a.via == "http" else 0):
                procs.append(start(f"voting{k}", ["serve", "voting"], env, "VOTING_HTTP_PORT"))
            for p in procs:
                p.wait_ready(timeout=90)
            print(f"started {', '.join(p.name for p in procs)}; {len(targets):,} targets")
            ps = {p.name: psutil.Process(p.popen.pid) for p in procs}
            cpu0 = {k: sum(p.cpu_times()[:2]) for k, p in ps.items()}
            me = psutil.Process()
            cpu0["client"] = sum(me.cpu_times()[:2])
            t0 = time.perf_counter()
            run = uvloop.run(measure(a, [p.url for p in procs if p.name.startswith("voting")], env["DATABASE_URL"], targets, tokens))
            wall = time.perf_counter() - t0
            cpu = {k: sum(p.cpu_times()[:2]) - cpu0[k] for k, p in ps.items()}
            cpu["client"] = sum(me.cpu_times()[:2]) - cpu0["client"]
            report(a, run, cpu, wall)
        finally:
            for p in procs:
                p.stop()
            asyncio.run(cleanup(database, prefix))


if __name__ == "__main__":
    main()
