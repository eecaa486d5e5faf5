"""What the tally consumer tells moderators and authors about manipulation, per batch.

For every batch: one `vote.outcome_revised` per revision the pipeline made (a ring or a late
solicitation found after the fact), and, per target on which this batch decided or revised votes with
a manipulation reason, one `voting.findings` row (with the voters, for moderators) and one
`manipulation.suspected` event (reason counts only: it reaches the target's author). Both are written in
the batch's transaction, with the ballots they explain.

Probation reasons (new account, unverified email, low trust) and the hard rules (self vote, blocked,
deleted) discount votes too but are not *manipulation*: they make no finding. Nor does velocity: it is
about the voter (a script voting everywhere), not about the target, and an author told "manipulation
suspected" whenever a fast voter touched their post would learn to ignore the alert (in the tally
bench's synthetic traffic velocity alone made a finding for 1 target in 3 per batch). Velocity decisions
keep their reason and weight; moderators list them by voter (GET /v1/moderation/decisions?voter_id=).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from services.kit.outbox import Outbox
from services.voting import events
from services.voting.integrity import Decision, Revision
from services.voting.integrity import reasons as R
from services.voting.models import outbox as outbox_rows

MANIPULATION = R.MANIPULATION - {R.VELOCITY}  # reasons that make a finding on the target
MAX_VOTERS = 1_000  # voters kept in one finding row

_outbox = Outbox(outbox_rows, source="agora/voting")

INSERT_FINDINGS = """
INSERT INTO {s}.findings (finding_id, target_id, author_id, reasons, voters, votes_discounted, detected_at)
SELECT x.id, x.t, x.a, x.r::jsonb, string_to_array(x.v, ',')::uuid[], x.n, x.at
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[], $7::timestamptz[]) AS x(id, t, a, r, v, n, at)
"""
INSERT_OUTBOX = """
INSERT INTO {s}.outbox (id, topic, key, type, headers, payload)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bytea[])
"""


@dataclass(slots=True)
class IntegrityRows:
    findings: list[list[Any]]  # the columns of INSERT_FINDINGS
    outbox: list[list[Any]]  # the columns of INSERT_OUTBOX
    revised: int = 0
    suspected: int = 0


@dataclass(slots=True)
class FindingsCollector:
    """Fed the batch's decisions and revisions; `rows()` turns them into what the transaction writes."""

    suspects: dict[str, dict[str, tuple[tuple[str, ...], float]]] = field(default_factory=dict)  # target -> voter -> (reasons, weight)
    revisions: list[Revision] = field(default_factory=list)

    def decision(self, d: Decision) -> None:
        if d.reasons and not MANIPULATION.isdisjoint(d.reasons):
            self.suspects.setdefault(d.target, {})[d.voter] = (d.reasons, d.weight)

    def revision(self, r: Revision) -> None:
        self.revisions.append(r)
        if not MANIPULATION.isdisjoint(r.reasons):
            self.suspects.setdefault(r.target, {})[r.voter] = (r.reasons, r.weight)

    def rows(self, target_info: dict[str, tuple[str, str, int]]) -> IntegrityRows | None:
        if not self.suspects and not self.revisions:
            return None
        now = datetime.now(UTC)
        findings: list[list[Any]] = [[], [], [], [], [], [], []]
        built = []
        for r in self.revisions:
            _, author, _ = target_info.get(r.target, ("post", None, 0))
            built.append(_outbox.build(events.VOTE_OUTCOME_REVISED, events.VoteOutcomeRevised(
                vote_id=r.vote_id, voter_id=r.voter, target_id=r.target, author_id=author, value=r.value, outcome=r.outcome,
                weight=r.weight, reasons=list(r.reasons), previous_outcome=r.previous_outcome, previous_weight=r.previous_weight,
                revised_at=datetime.fromtimestamp(r.at, UTC),
            ), key=r.target, subject=r.target)[1])
        for target, voters in self.suspects.items():
            kind, author, _ = target_info.get(target, ("post", None, 0))
            counts = Counter(code for why, _ in voters.values() for code in why if code in MANIPULATION)
            discounted = sum(1 for _, w in voters.values() if w < 1.0)
            finding_id = uuid.uuid4()
            for col, value in zip(findings, (finding_id, target, author, orjson.dumps(counts).decode(),
                                             ",".join(list(voters)[:MAX_VOTERS]), discounted, now), strict=True):
                col.append(value)
            built.append(_outbox.build(events.MANIPULATION_SUSPECTED, events.ManipulationSuspected(
                finding_id=finding_id, target_id=target, target_kind=kind, author_id=author, reasons=dict(counts),
                votes_discounted=discounted, detected_at=now,
            ), key=target, subject=target)[1])
        outbox: list[list[Any]] = [[], [], [], [], [], []]
        for row in built:
            for col, value in zip(outbox, (row["id"], row["topic"], row["key"], row["type"], orjson.dumps(row["headers"]).decode(), row["payload"]), strict=True):
                col.append(value)
        return IntegrityRows(findings, outbox, len(self.revisions), len(self.suspects))
