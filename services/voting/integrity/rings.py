"""Vote rings: groups that vote together (lockstep) and pairs that vote for each other (reciprocal).

Lockstep is a streaming take on CopyCatch (Beutel et al., WWW 2013) and SynchroTrap (Cao et al.,
CCS 2014): instead of clustering the whole (member × target × time) cube in batch, every vote on a
*cold* target (few votes so far — in a crowd, voting together carries no signal) is compared with the
few votes just before it on that target. Two members casting the same value within the lockstep
window (or, on a very cold target, within the slow window: slow-drip rings) make a **co-vote**. A pair
co-voting on `lockstep_pair_min` distinct targets within the horizon is **synchronised**; when a
synchronised pair closes a dense group — both synchronised with enough common partners to make
`lockstep_ring_min` members — the group is a **ring**. Its votes on the targets where members
co-voted are revised to not counted, and from then on a member's vote on a target where enough other
members voted the same way is not counted on arrival (and those members' votes are revised).

Reciprocity: for every pair of members, the distinct (cold) targets each voted of the other's within
the horizon. A pair that did so `reciprocal_min` times each way, and for whom that is a real share
of all they vote on (power users who vote on everything are not a ring), is a reciprocal ring.

Every decision checks timestamps itself, so results do not depend on when `sweep` runs; `sweep`
only returns memory. Pair counters are also bounded in number (`lockstep_pair_capacity`): past it,
expired pairs and then single co-votes are dropped — an explicit, deterministic approximation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from services.voting.integrity import reasons as R
from services.voting.integrity.config import IntegrityConfig
from services.voting.integrity.target_state import TargetState

# A pair's evidence is a flat tuple (at1, target1, at2, target2, ...): one allocation per update, and a
# single co-vote — most pairs ever seen — costs one 2-tuple.
_KEEP = 8  # targets remembered per pair / reciprocal direction

Revise = Callable[[str, str, str, float, float], None]  # (target, voter, reason, cap, at)


def _add(e: tuple[Any, ...] | None, target: str, at: float, horizon: float) -> tuple[Any, ...]:
    """Evidence with `target` added at `at` and entries older than the horizon dropped. Returns `e`
    itself when nothing changed (the target is already in the live evidence)."""
    if e is None:
        return (at, target)
    cutoff = at - horizon
    if e[0] < cutoff:
        e = tuple(x for i in range(0, len(e), 2) if e[i] >= cutoff for x in (e[i], e[i + 1]))
        if not e:
            return (at, target)
        if target in e:
            return e
    elif target in e:
        return e
    if len(e) >= 2 * _KEEP:
        e = e[2:]
    return (*e, at, target)


def _count(e: tuple[Any, ...] | None, at: float, horizon: float) -> int:
    if e is None:
        return 0
    cutoff = at - horizon
    return sum(1 for i in range(0, len(e), 2) if e[i] >= cutoff)


def _targets(e: tuple[Any, ...]) -> tuple[str, ...]:
    return e[1::2]


class RingDetector:
    __slots__ = (
        "config", "targets", "revise", "pairs", "sync", "rings", "ring_of", "next_ring", "rings_found",
        "recip", "recip_flagged", "activity",
    )

    def __init__(self, config: IntegrityConfig, targets: dict[str, TargetState], revise: Revise) -> None:
        self.config = config
        self.targets = targets
        self.revise = revise
        self.pairs: dict[tuple[str, str], tuple[Any, ...]] = {}  # (a, b), a < b -> evidence
        self.sync: dict[str, dict[str, float]] = {}  # member -> {synchronised partner: last co-vote at}
        self.rings: dict[int, dict[str, Any]] = {}  # id -> {"members": {m: None}, "targets": {t: None}, "found_at", "last_at"}
        self.ring_of: dict[str, int] = {}
        self.next_ring = 1
        self.rings_found = 0
        self.recip: dict[tuple[str, str], tuple[Any, ...]] = {}  # (voter, author) -> evidence
        self.recip_flagged: dict[tuple[str, str], float] = {}
        self.activity: dict[str, list[int]] = {}  # voter -> [window, cold votes in it, in the one before]

    # -- lockstep --------------------------------------------------------------------------------------

    def covote(self, key: tuple[str, str], old: tuple[Any, ...], target: str, at: float) -> None:
        """The pair `key` (sorted) co-voted on `target` again. (A first co-vote is recorded inline
        by the pipeline as `pairs[key] = (at, target)`.)"""
        e = _add(old, target, at, self.config.horizon)
        if e is old:
            return
        self.pairs[key] = e
        if len(e) >= 2 * self.config.lockstep_pair_min:
            self._synchronised(key[0], key[1], at)

    def prune(self, at: float) -> None:
        """Past `lockstep_pair_capacity` entries in the co-vote or the reciprocity counters: drop expired
        ones, then single observations. In place (the pipeline holds the dicts)."""
        cutoff = at - self.config.horizon
        for d in (self.pairs, self.recip):
            if len(d) < self.config.lockstep_pair_capacity:
                continue
            for k in [k for k, e in d.items() if e[-2] < cutoff]:
                del d[k]
            if len(d) >= 0.75 * self.config.lockstep_pair_capacity:
                for k in [k for k, e in d.items() if len(e) == 2]:
                    del d[k]
            if len(d) >= 0.75 * self.config.lockstep_pair_capacity:  # still full: keep the freshest half
                fresh = sorted(d.items(), key=lambda kv: kv[1][-2])[len(d) // 2 :]
                d.clear()
                d.update(fresh)

    def _live(self, partners: dict[str, float], at: float) -> Iterable[str]:
        cutoff = at - self.config.horizon
        return (p for p, p_at in partners.items() if p_at >= cutoff)

    def _ring(self, member: str, at: float) -> int | None:
        rid = self.ring_of.get(member)
        if rid is not None and self.rings[rid]["last_at"] < at - self.config.horizon:
            return None  # expired; swept later
        return rid

    def _synchronised(self, u: str, v: str, at: float) -> None:
        """A pair now votes together repeatedly. Around it (u, v and their synchronised partners),
        peel members with fewer than k = max(2, `lockstep_ring_min` - 2) synchronised links inside the
        group until none is left to peel; if what remains (a k-core) holds u or v and `lockstep_ring_min`
        members, it is a ring (merged with any ring its members already belong to)."""
        sync = self.sync
        su = sync.setdefault(u, {})
        sv = sync.setdefault(v, {})
        su[v] = at
        sv[u] = at
        ru = self._ring(u, at)
        rv = self._ring(v, at)
        if ru is not None and ru == rv:
            self._evidence(ru, [u, v], at)
            return
        group = dict.fromkeys([u, v, *self._live(su, at), *self._live(sv, at)])
        links = {m: [p for p in self._live(sync.get(m, {}), at) if p in group] for m in group}
        k = max(2, self.config.lockstep_ring_min - 2)
        peeled = True
        while peeled:
            peeled = False
            for m in [m for m, ps in links.items() if len(ps) < k]:
                del links[m]
                peeled = True
            for m, ps in links.items():
                links[m] = [p for p in ps if p in links]
        if len(links) >= self.config.lockstep_ring_min and (u in links or v in links):
            self._ring_found(list(links), at)
            return
        for rid, newcomer in ((ru, v), (rv, u)):
            if rid is None:
                continue
            partners = set(self._live(sync.get(newcomer, {}), at))
            if sum(1 for m in self.rings[rid]["members"] if m in partners) >= k:
                self._ring_found([*self.rings[rid]["members"], newcomer], at)
                return

    def _ring_found(self, members: list[str], at: float) -> None:
        ring_of = self.ring_of
        ids = sorted({rid for m in members if (rid := self._ring(m, at)) is not None})
        if ids:
            rid = ids[0]
            ring = self.rings[rid]
            for other in ids[1:]:
                merged = self.rings.pop(other)
                ring["members"].update(merged["members"])
                ring["targets"].update(merged["targets"])
        else:
            rid = self.next_ring
            self.next_ring += 1
            ring = self.rings[rid] = {"members": {}, "targets": {}, "found_at": at, "last_at": at}
            self.rings_found += 1
        ring["members"].update(dict.fromkeys(members))
        self._expand(ring, at)
        for m in ring["members"]:
            ring_of[m] = rid
        ring["last_at"] = at
        self._evidence(rid, list(ring["members"]), at)

    def _expand(self, ring: dict[str, Any], at: float) -> None:
        """Close the ring over the synchronised graph: a member synchronised with enough of the ring
        (max(2, `lockstep_ring_min` - 2), or a quarter of it if more) belongs to it."""
        members: dict[str, None] = ring["members"]
        grew = True
        while grew:
            grew = False
            need = max(2, self.config.lockstep_ring_min - 2, -(-len(members) // 4))
            links: dict[str, int] = {}
            for m in members:
                for p in self._live(self.sync.get(m, {}), at):
                    if p not in members:
                        links[p] = links.get(p, 0) + 1
            for p, k in links.items():
                if k >= need:
                    members[p] = None
                    grew = True

    def _evidence(self, rid: int, members: list[str], at: float) -> None:
        """Discount the ring on every target that two of `members` (or one of them and any other
        member of the ring) co-voted on within the horizon."""
        ring = self.rings[rid]
        everyone = list(ring["members"])
        cutoff = at - self.config.horizon
        found: dict[str, None] = {}
        for a in members:
            for b in everyone:
                if a == b:
                    continue
                e = self.pairs.get((a, b) if a < b else (b, a))
                if e is not None:
                    for i in range(0, len(e), 2):
                        if e[i] >= cutoff:
                            found[e[i + 1]] = None
        for t in found:
            ring["targets"][t] = None
            tb = self.targets.get(t)
            if tb is not None:
                self._discount_on(rid, tb, t, at)

    def quorum(self, rid: int) -> int:
        """Other ring members who must have voted the same way on a target for a vote to be ring activity."""
        return max(1, len(self.rings[rid]["members"]) // 5)

    def _discount_on(self, rid: int, tb: TargetState, target: str, at: float) -> None:
        members = self.rings[rid]["members"]
        votes = tb.votes
        for sign in (1, -1):
            voters = [m for m in members if (rec := votes.get(m)) is not None and rec[0] == sign]
            if len(voters) > self.quorum(rid):
                for m in voters:
                    self.revise(target, m, R.LOCKSTEP_RING, 0.0, at)

    def ring_vote(self, voter: str, value: int, tb: TargetState, target: str, at: float) -> bool:
        """A ring member votes: ring activity if enough other members voted the same way here."""
        rid = self._ring(voter, at)
        if rid is None:
            return False
        ring = self.rings[rid]
        votes = tb.votes
        others = [m for m in ring["members"] if m != voter and (rec := votes.get(m)) is not None and rec[0] == value]
        if len(others) < self.quorum(rid):
            return False
        ring["last_at"] = at
        ring["targets"][target] = None
        for m in others:
            self.revise(target, m, R.LOCKSTEP_RING, 0.0, at)
        return True

    # -- reciprocity -----------------------------------------------------------------------------------

    def reciprocal(self, key: tuple[str, str], old: tuple[Any, ...] | None, target: str, win: int, at: float) -> bool:
        """`key` = (voter, author): the voter votes the author's content again, or the
        pair was flagged before. (A first vote is recorded inline by the pipeline; so is the voter's
        activity, counted in half-horizon windows `win`.)"""
        cfg = self.config
        horizon = cfg.horizon
        recip = self.recip
        e = _add(old, target, at, horizon)
        if e is not old:
            recip[key] = e
        flagged = self.recip_flagged
        f = flagged.get(key)
        if f is not None and f >= at - horizon:
            flagged[key] = at
            return True
        rmin2 = 2 * cfg.reciprocal_min
        if len(e) < rmin2:
            return False
        voter, author = key
        back_key = (author, voter)
        back = recip.get(back_key)
        if back is None or len(back) < rmin2:
            return False
        mine = _count(e, at, horizon)
        theirs = _count(back, at, horizon)
        if mine < cfg.reciprocal_min or theirs < cfg.reciprocal_min:
            return False
        share = cfg.reciprocal_share
        if mine < share * self._activity(voter, win) or theirs < share * self._activity(author, win):
            return False
        flagged[key] = at
        flagged[back_key] = at
        cutoff = at - horizon
        for i in range(0, len(e), 2):
            if e[i] >= cutoff and e[i + 1] != target:
                self.revise(e[i + 1], voter, R.RECIPROCAL_RING, 0.0, at)
        for i in range(0, len(back), 2):
            if back[i] >= cutoff:
                self.revise(back[i + 1], author, R.RECIPROCAL_RING, 0.0, at)
        return True

    def _activity(self, member: str, win: int) -> int:
        """Votes cast in the current and the previous half-horizon window."""
        act = self.activity.get(member)
        if act is None or act[0] < win - 1:
            return 0
        if act[0] == win:
            return act[1] + act[2]
        return act[1]  # last active in the previous window

    # -- memory and snapshot ---------------------------------------------------------------------------

    def sweep(self, now: float) -> None:
        cutoff = now - self.config.horizon
        for d in (self.pairs, self.recip):  # in place: the pipeline holds these dicts
            for k in [k for k, e in d.items() if e[-2] < cutoff]:
                del d[k]
        flagged = self.recip_flagged
        for k in [k for k, at in flagged.items() if at < cutoff]:
            del flagged[k]
        for m in list(self.sync):
            partners = {p: at for p, at in self.sync[m].items() if at >= cutoff}
            if partners:
                self.sync[m] = partners
            else:
                del self.sync[m]
        for rid in [rid for rid, r in self.rings.items() if r["last_at"] < cutoff]:
            for m in self.rings.pop(rid)["members"]:
                if self.ring_of.get(m) == rid:
                    del self.ring_of[m]
        win = int(now // (self.config.horizon / 2))
        activity = self.activity
        for m in [m for m, a in activity.items() if a[0] < win - 1]:
            del activity[m]

    def snapshot(self) -> dict[str, Any]:
        return {
            "pairs": [[a, b, list(e)] for (a, b), e in self.pairs.items()],
            "sync": {m: dict(p) for m, p in self.sync.items()},
            "rings": [[rid, list(r["members"]), list(r["targets"]), r["found_at"], r["last_at"]] for rid, r in self.rings.items()],
            "next_ring": self.next_ring,
            "rings_found": self.rings_found,
            "recip": [[a, b, list(e)] for (a, b), e in self.recip.items()],
            "recip_flagged": [[a, b, at] for (a, b), at in self.recip_flagged.items()],
            "activity": {m: list(a) for m, a in self.activity.items()},
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Load a snapshot into this (fresh) detector, keeping the identity of its dicts."""
        self.pairs.update(((a, b), tuple(e)) for a, b, e in data["pairs"])
        self.sync = {m: dict(p) for m, p in data["sync"].items()}
        self.rings.clear()
        self.ring_of.clear()
        for rid, members, targets, found_at, last_at in data["rings"]:
            self.rings[rid] = {"members": dict.fromkeys(members), "targets": dict.fromkeys(targets), "found_at": found_at, "last_at": last_at}
            for m in members:
                self.ring_of[m] = rid
        self.next_ring = data["next_ring"]
        self.rings_found = data["rings_found"]
        self.recip.update(((a, b), tuple(e)) for a, b, e in data["recip"])
        self.recip_flagged.update(((a, b), at) for a, b, at in data["recip_flagged"])
        self.activity.update((m, list(a)) for m, a in data["activity"].items())
