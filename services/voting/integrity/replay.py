"""Replay: run the vote decision pipeline offline, CSV in, decisions out.

    python -m services.voting.integrity.replay --votes votes.csv --graph edges.csv \\
        [--trust trust.csv] [--solicitations s.csv] [--blocks blocks.csv] [--content content.csv] \\
        --out decisions.csv [--tallies tallies.csv]

Every input file is UTF-8 CSV with a header row; columns may come in any order; [optional] columns
may be left out or left empty. Times (`at`, `registered_at`) are epoch seconds (`1700000000.5`) or
ISO-8601 (`2024-05-01T12:00:00Z`; a naive time is taken as UTC).

  votes.csv          vote_id, voter, target, target_author, value (-1|0|1), at, [origin], [device]
  edges.csv          a, b, [at], [provenance: invitation|introduction|suggestion|import], [removed: 0|1]
                     (an edge without `at` is taken as made long before the first vote)
  trust.csv          member, registered_at, [email_verified: 1|0], [trust_level: new|member|trusted], [deleted: 0|1]
  solicitations.csv  sender, recipients (separated by ';' or spaces), target, at
  blocks.csv         blocker, blocked, at, [removed: 0|1]
  content.csv        target, author, at

All events are merged into one stream ordered by time (context before votes at the same instant, then
file order) and fed to the same `VotePipeline` the tally consumer runs.

Output, decisions.csv: one row per vote that changed a member's standing vote, in decision order,
with the outcome it holds at the end of the replay (later findings applied):

  vote_id, voter, target, value, outcome (counted|reduced|not_counted), weight, reasons (';'-separated),
  at, revised (1 if a later finding changed the first decision)

Votes that changed nothing (a repeat of the standing value, a redelivered or older vote) get no row;
their count is printed. --tallies writes `target, raw, trusted, ups, downs, reduced, not_counted`.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from services.voting.integrity.config import IntegrityConfig
from services.voting.integrity.events import Block, Connection, ContentAuthored, Event, Solicitation, TrustSignal, Vote
from services.voting.integrity.pipeline import VotePipeline


class ReplayError(ValueError):
    """A row the replay cannot read; the message names the file, the line and the problem."""


def parse_time(text: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (epoch seconds or ISO-8601)") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _flag(text: str | None, default: bool) -> bool:
    if text is None or text.strip() == "":
        return default
    t = text.strip().lower()
    if t in ("1", "true", "yes", "t", "y"):
        return True
    if t in ("0", "false", "no", "f", "n"):
        return False
    raise ValueError(f"not a flag: {text!r} (1/0, true/false)")


def _rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or ())]
        if missing:
            raise ReplayError(f"{path}: missing column(s) {', '.join(missing)} (header: {reader.fieldnames})")
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _opt(row: dict[str, str], key: str) -> str | None:
    v = row.get(key)
    return v if v else None


def read_votes(path: Path) -> Iterator[Vote]:
    for line, r in _rows(path, ("vote_id", "voter", "target", "target_author", "value", "at")):
        try:
            value = int(r["value"])
            if value not in (-1, 0, 1):
                raise ValueError(f"value {value} is not -1, 0 or 1")
            yield Vote(r["vote_id"], r["voter"], r["target"], r["target_author"] or None, value, parse_time(r["at"]), _opt(r, "origin"), _opt(r, "device"))
        except ValueError as e:
            raise ReplayError(f"{path}:{line}: {e}") from None


def read_edges(path: Path, before: float) -> Iterator[Connection]:
    for line, r in _rows(path, ("a", "b")):
        try:
            prov = _opt(r, "provenance") or "import"
            if prov not in ("invitation", "introduction", "suggestion", "import"):
                raise ValueError(f"unknown provenance {prov!r}")
            at = parse_time(r["at"]) if _opt(r, "at") else before
            yield Connection(r["a"], r["b"], at, prov, _flag(r.get("removed"), False))
        except ValueError as e:
            raise ReplayError(f"{path}:{line}: {e}") from None


def read_trust(path: Path) -> Iterator[TrustSignal]:
    for line, r in _rows(path, ("member", "registered_at")):
        try:
            level = _opt(r, "trust_level") or "member"
            if level not in ("new", "member", "trusted"):
                raise ValueError(f"unknown trust_level {level!r}")
            reg = parse_time(r["registered_at"])
            yield TrustSignal(r["member"], reg, _flag(r.get("email_verified"), True), level, _flag(r.get("deleted"), False), reg)
        except ValueError as e:
            raise ReplayError(f"{path}:{line}: {e}") from None


def read_solicitations(path: Path) -> Iterator[Solicitation]:
    for line, r in _rows(path, ("sender", "recipients", "target", "at")):
        try:
            recipients = tuple(x for x in r["recipients"].replace(";", " ").split() if x)
            yield Solicitation(r["sender"], recipients, r["target"], parse_time(r["at"]))
        except ValueError as e:
            raise ReplayError(f"{path}:{line}: {e}") from None


def read_blocks(path: Path) -> Iterator[Block]:
    for line, r in _rows(path, ("blocker", "blocked", "at")):
        try:
            yield Block(r["blocker"], r["blocked"], parse_time(r["at"]), _flag(r.get("removed"), False))
        except ValueError as e:
            raise ReplayError(f"{path}:{line}: {e}") from None


def read_content(path: Path) -> Iterator[ContentAuthored]:
    for line, r in _rows(path, ("target", "author", "at")):
        try:
            yield ContentAuthored(r["target"], r["author"], parse_time(r["at"]))
        except ValueError as e:
            raise ReplayError(f"{path}:{line}: {e}") from None


def _time_of(e: Event) -> float:
    if isinstance(e, TrustSignal):
        return e.registered_at if e.at is None else e.at
    return e.at


def merge(votes: list[Vote], context: list[Event]) -> list[Event]:
    """One stream ordered by time; at the same instant context comes first, then file order."""
    keyed = [(_time_of(e), 0, i, e) for i, e in enumerate(context)]
    keyed += [(v.at, 1, i, v) for i, v in enumerate(votes)]
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]


def replay(
    votes: list[Vote], context: list[Event], config: IntegrityConfig | None = None
) -> tuple[list[list[object]], VotePipeline]:
    """Rows of decisions.csv (final outcomes) and the pipeline after the run."""
    pipeline = VotePipeline(config)
    rows: dict[str, list[object]] = {}
    for d in pipeline.run(merge(votes, context)):
        rows[d.vote_id] = [d.vote_id, d.voter, d.target, d.value, d.outcome, d.weight, ";".join(d.reasons), d.at, 0]
    for rev in pipeline.drain().revisions:
        row = rows.get(rev.vote_id)
        if row is not None:
            row[4], row[5], row[6], row[8] = rev.outcome, rev.weight, ";".join(rev.reasons), 1
    return list(rows.values()), pipeline


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m services.voting.integrity.replay", description=__doc__.split("\n\n")[0])
    ap.add_argument("--votes", type=Path, required=True)
    ap.add_argument("--graph", type=Path, required=True, help="connections: a,b[,at,provenance,removed]")
    ap.add_argument("--trust", type=Path)
    ap.add_argument("--solicitations", type=Path)
    ap.add_argument("--blocks", type=Path)
    ap.add_argument("--content", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--tallies", type=Path)
    args = ap.parse_args(argv)
    try:
        votes = list(read_votes(args.votes))
        first = min((v.at for v in votes), default=0.0)
        long_before = first - 365 * 86400.0 if math.isfinite(first) else 0.0
        context: list[Event] = list(read_edges(args.graph, long_before))
        if args.trust:
            context += read_trust(args.trust)
        if args.solicitations:
            context += read_solicitations(args.solicitations)
        if args.blocks:
            context += read_blocks(args.blocks)
        if args.content:
            context += read_content(args.content)
    except (ReplayError, OSError) as e:
        print(f"replay: {e}", file=sys.stderr)
        return 2
    rows, pipeline = replay(votes, context)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["vote_id", "voter", "target", "value", "outcome", "weight", "reasons", "at", "revised"])
        w.writerows(rows)
    if args.tallies:
        with open(args.tallies, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["target", "raw", "trusted", "ups", "downs", "reduced", "not_counted"])
            w.writerows(list(t) for t in pipeline.tallies())
    c = pipeline.counters
    by_outcome: dict[str, int] = {}
    for r in rows:
        by_outcome[str(r[4])] = by_outcome.get(str(r[4]), 0) + 1
    print(
        f"replay: {c.votes} votes, {len(context)} context events -> {len(rows)} decisions "
        f"({', '.join(f'{k} {v}' for k, v in sorted(by_outcome.items()))}); "
        f"{c.repeats} repeats and {c.duplicates} duplicate/older votes changed nothing; {c.revisions} revisions",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
