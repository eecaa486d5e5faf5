"""The vote decision pipeline: one vote per member per target, every vote explained, tallies kept.

Pure and in memory: no I/O, no clock (time is the events' own `at`), deterministic given the order
of the events it is fed. A tally consumer keeps one `VotePipeline` per process and feeds it, per
Kafka partition, the batches `getmany()` returns:

    pipeline = VotePipeline(IntegrityConfig())
    pipeline.apply_context(event)                        # Connection, Block, TrustSignal, Solicitation, ...
    decisions = pipeline.decide_batch(votes, partition)  # one Decision per vote that changed anything
    changes = pipeline.drain()                           # revisions + absolute tallies of touched targets
    # write ballots (decisions, then revisions), tallies and offsets in one transaction

One vote per member per target: a vote replaces the member's standing vote when it is newer by
(`at`, `vote_id`); a repeat of the standing value, and any older or redelivered vote, change nothing
and yield no decision. A clear (value 0) removes the vote from the tally and stays as a tombstone.

Decisions: weight = the lowest cap among the reasons found (1.0 when none):

    self_vote, blocked_by_author, deleted_member      0   hard rules (no behavioural checks)
    new_account, unverified_email, low_trust          probation_weight
    velocity                                          0   GCRA token bucket per voter; revises the run-up
    shared_origin                                     0 same device / shared_address_weight otherwise
    solicited_in_network_burst (+ recently_connected | after_introduction)   0
    solicited_message                                 0   author-sent link, or a burst of recipients
    lockstep_ring, reciprocal_ring                    0   often found after the fact: revisions

State: target-keyed state (standing votes, tallies, per-target windows) is tagged with the partition
its votes came from and can be snapshot/restored per partition. Member-keyed behaviour (velocity,
co-voting pairs, rings, reciprocity, burst baselines) belongs to the process ("shared"), and the
context (graph, trust, blocks, solicitations) has its own snapshot. All plain dicts/lists/tuples.
Every window is enforced by comparing event times, so `sweep` (run by itself every `sweep_every`
seconds of event time once `sweep_min_votes` votes came in) only gives memory back and does not
change decisions. Standing votes are the one part that grows with the data: the consumer pages idle
targets out (`evict_idle_targets`) and back in (`admit_target`) from its ballots table.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from services.voting.integrity import reasons as R
from services.voting.integrity.config import IntegrityConfig
from services.voting.integrity.context import IntegrityContext, decode_edge
from services.voting.integrity.events import (
    COUNTED,
    NOT_COUNTED,
    REDUCED,
    Block,
    Connection,
    ContentAuthored,
    Decision,
    Event,
    Revision,
    Solicitation,
    Tally,
    TrustSignal,
    Vote,
    outcome_of,
)
from services.voting.integrity.rings import RingDetector
from services.voting.integrity.target_state import TargetState

SNAPSHOT_VERSION = 1
_EMPTY: tuple[str, ...] = ()
_INNET_KEEP = 256  # in-network votes kept per target window (a busy target's burst revises its last 256)


@dataclass(slots=True)
class Changes:
    """What `drain()` hands the consumer: revisions since the last drain, and the tallies of every
    target touched since (by decisions or revisions) as absolute values — writing them twice is
    harmless."""

    revisions: list[Revision] = field(default_factory=list)
    tallies: list[Tally] = field(default_factory=list)


@dataclass(slots=True)
class Counters:
    votes: int = 0  # votes fed
    decided: int = 0  # votes that changed a standing vote (one Decision each)
    duplicates: int = 0  # redelivered, or older than the standing vote
    repeats: int = 0  # same value as the standing vote
    revisions: int = 0


class VotePipeline:
    def __init__(self, config: IntegrityConfig | None = None, context: IntegrityContext | None = None) -> None:
        self.config = config = config or IntegrityConfig()
        self.context = context or IntegrityContext(config)
        self.counters = Counters()
        self._targets: dict[str, TargetState] = {}
        self._dirty: dict[str, None] = {}
        self._revisions: list[Revision] = []
        self._now = -math.inf
        self._next_sweep = -math.inf
        self._sweep_after = 0  # votes still to come before the next sweep may run
        # member-keyed behaviour, shared by all partitions of the process
        # velocity as GCRA: voter -> theoretical arrival time (when the voter's bucket is full again)
        self._velocity: dict[str, float] = {}
        self._run_up: dict[str, list[tuple[float, str]]] = {}  # voter -> quick votes (at, target) so far
        # author -> [average in-network peak per post, current post, its peak so far, last at]
        self._baseline: dict[str, list[Any]] = {}
        self._origin_accounts: dict[str, dict[str, float]] = {}  # address -> {account: last collision at}
        self.rings = RingDetector(config, self._targets, self._revise)

    # ------------------------------------------------------------------------------------------------
    # feeding

    def apply_context(self, event: Connection | Block | TrustSignal | Solicitation | ContentAuthored) -> None:
        self.context.apply(event, self._now)

    def apply(self, event: Event, partition: int = 0) -> Decision | None:
        """Feed one event of either kind; returns the vote's decision (None for context events and for
        votes that changed nothing). `decide_batch` is the fast path for runs of votes."""
        if isinstance(event, Vote):
            out = self.decide_batch((event,), partition)
            return out[0] if out else None
        self.apply_context(event)
        return None

    def run(self, events: Iterable[Event], partition: int = 0) -> Iterator[Decision]:
        """Feed a mixed, ordered stream; the votes between two context events are decided as a batch."""
        batch: list[Vote] = []
        for e in events:
            if type(e) is Vote:
                batch.append(e)
                continue
            if batch:
                yield from self.decide_batch(batch, partition)
                batch = []
            self.apply_context(e)  # type: ignore[arg-type]
        if batch:
            yield from self.decide_batch(batch, partition)

    def decide(self, vote: Vote, partition: int = 0) -> Decision | None:
        out = self.decide_batch((vote,), partition)
        return out[0] if out else None

    def decide_batch(self, votes: Iterable[Vote], partition: int = 0) -> list[Decision]:
        """Decide a run of votes in order; one Decision per vote that changed a standing vote.

        The hot path: every lookup is hoisted into a local; checks that fire rarely (a connection of
        the author voting, a second account from one address, a ring member, ...) go to methods."""
        cfg = self.config
        ctx = self.context
        targets = self._targets
        dirty = self._dirty
        adjacency = ctx.adjacency
        blocked_by = ctx.blocked_by
        standing = ctx.standing
        solicited = ctx.solicited
        target_authors = ctx.target_authors
        velocity = self._velocity
        run_up = self._run_up
        v_interval = cfg.velocity_interval
        v_tolerance = (cfg.velocity_burst - 1) * v_interval
        v_max_debt = 2 * cfg.velocity_burst * v_interval
        v_keep = 4 * cfg.velocity_burst
        origin_window = cfg.origin_window
        origin_max = cfg.origin_max_voters
        sol_window = cfg.solicitation_window
        lk_window = cfg.lockstep_window
        lk_cold = cfg.lockstep_cold_voters
        lk_slow_window = cfg.lockstep_slow_window
        lk_slow = cfg.lockstep_slow_voters
        lk_back = cfg.lockstep_lookback
        keep_recent = cfg.recent_votes_per_target
        rings = self.rings
        ring_of = rings.ring_of
        pairs = rings.pairs
        pair_capacity = cfg.lockstep_pair_capacity
        recip = rings.recip
        recip_flagged = rings.recip_flagged
        activity = rings.activity
        half_horizon = cfg.horizon / 2
        now = self._now
        out: list[Decision] = []
        append = out.append
        new_tuple = tuple.__new__
        n_votes = duplicates = repeats = 0
        sweep_after = self._sweep_after

        for v in votes:
            n_votes += 1
            at = v.at
            if at > now:
                now = at
                if at >= self._next_sweep and n_votes >= sweep_after:
                    self._now = now
                    self.sweep(now)
                    # a sweep costs time linear in the state: space them so that it stays amortised
                    sweep_after = n_votes + max(cfg.sweep_min_votes, 2 * self._state_size())
            target = v.target
            tb = targets.get(target)
            if tb is None:
                tb = targets[target] = TargetState(partition)
            voter = v.voter
            tvotes = tb.votes
            prev = tvotes.get(voter)
            value = v.value
            vote_id = v.vote_id
            if prev is not None:
                pat = prev[3]
                if at < pat or (at == pat and vote_id <= prev[2]):
                    duplicates += 1
                    continue
                if prev[0] == value:
                    repeats += 1
                    continue
            tb.last_at = at
            weight = 1.0
            why: list[str] | None = None

            if value:
                author = v.target_author
                if author is None:
                    known = target_authors.get(target)
                    author = known[0] if known is not None else None
                hard = False
                if voter == author:
                    weight, why, hard = 0.0, [R.SELF_VOTE], True
                elif author is not None and (bl := blocked_by.get(author)) is not None and voter in bl:
                    weight, why, hard = 0.0, [R.BLOCKED_BY_AUTHOR], True
                else:
                    st = standing.get(voter)
                    if st is not None:
                        if st[3]:
                            weight, why, hard = 0.0, [R.DELETED_MEMBER], True
                        else:
                            why = self._probation(st, at) or None
                            if why is not None:
                                weight = cfg.probation_weight
                if not hard:
                    # -- velocity: GCRA (a token bucket kept as one time per voter) --------------------
                    tat = velocity.get(voter)
                    if tat is None or tat <= at:
                        velocity[voter] = at + v_interval
                    else:
                        debt = tat - at
                        if debt > v_tolerance:
                            weight = 0.0
                            if why is None:
                                why = [R.VELOCITY]
                            else:
                                why.append(R.VELOCITY)
                            ru = run_up.get(voter)
                            if ru:
                                self._revise_run_up(voter, ru, at)
                                run_up[voter] = []
                        else:
                            ru = run_up.get(voter)
                            if ru is None:
                                run_up[voter] = [(at, target)]
                            else:
                                ru.append((at, target))
                                if len(ru) > v_keep:
                                    del ru[: len(ru) - v_keep // 2]
                        tat += v_interval
                        velocity[voter] = tat if tat - at <= v_max_debt else at + v_max_debt
                    # -- shared origin ----------------------------------------------------------------
                    nv = len(tvotes)
                    origin = v.origin
                    if origin is not None and nv <= origin_max:
                        ob = tb.origins
                        if ob is None:
                            tb.origins = {origin: (voter, v.device, at)}
                        else:
                            first = ob.get(origin)
                            if first is None or at - first[2] > origin_window:
                                ob[origin] = (voter, v.device, at)
                            elif first[0] != voter:
                                cap = self._shared_origin(target, origin, first, voter, v.device, at)
                                if cap is not None:
                                    if cap < weight:
                                        weight = cap
                                    if why is None:
                                        why = [R.SHARED_ORIGIN]
                                    else:
                                        why.append(R.SHARED_ORIGIN)
                    if author is not None:
                        # -- solicited: a burst from the author's own network -----------------------------
                        nb = adjacency.get(author)
                        if nb is not None:
                            edge = nb.get(voter)
                            if edge is not None:
                                found = self._in_network(tb, target, author, voter, edge, at, nv)
                                if found is not None:
                                    weight = 0.0
                                    if why is None:
                                        why = list(found)
                                    else:
                                        why.extend(found)
                    # -- solicited by a message linking the target --------------------------------------
                    if solicited:
                        sd = solicited.get(voter)
                        if sd is not None:
                            s = sd.get(target)
                            if s is not None and 0.0 <= at - s[0] <= sol_window:
                                cap = self._solicited(tb, target, author, voter, s, at)
                                if cap is not None:
                                    if cap < weight:
                                        weight = cap
                                    if why is None:
                                        why = [R.SOLICITED_MESSAGE]
                                    else:
                                        why.append(R.SOLICITED_MESSAGE)
                    # -- rings: known members first ---------------------------------------------------
                    if ring_of and voter in ring_of and rings.ring_vote(voter, value, tb, target, at):
                        weight = 0.0
                        if why is None:
                            why = [R.LOCKSTEP_RING]
                        else:
                            why.append(R.LOCKSTEP_RING)
                    if nv <= lk_cold:
                        # Rings boost what has few votes; in a crowd, voting together (or for each
                        # other) carries no signal. Cold targets only, which also bounds the cost.
                        # -- reciprocity: who votes for whose content, and back -----------------------
                        if author is not None:
                            win = int(at // half_horizon)
                            act = activity.get(voter)
                            if act is None:
                                activity[voter] = [win, 1, 0]
                            elif act[0] == win:
                                act[1] += 1
                            else:
                                act[2] = act[1] if act[0] == win - 1 else 0
                                act[0] = win
                                act[1] = 1
                            key = (voter, author)
                            e = recip.get(key)
                            if e is None and not (recip_flagged and key in recip_flagged):
                                recip[key] = (at, target)
                                if len(recip) >= pair_capacity:
                                    rings.prune(at)
                            elif rings.reciprocal(key, e, target, win, at):
                                weight = 0.0
                                if why is None:
                                    why = [R.RECIPROCAL_RING]
                                else:
                                    why.append(R.RECIPROCAL_RING)
                        # -- lockstep: co-votes with the last few votes on this target ----------------
                        recent = tb.recent
                        n = len(recent)
                        if n:
                            since = at - (lk_slow_window if nv <= lk_slow else lk_window)
                            for r_at, r_voter, r_value in reversed(recent[-lk_back:]):
                                if r_at < since:
                                    break
                                if r_value == value and r_voter != voter:
                                    key = (voter, r_voter) if voter < r_voter else (r_voter, voter)
                                    e = pairs.get(key)
                                    if e is None:
                                        pairs[key] = (at, target)
                                    else:
                                        rings.covote(key, e, target, at)
                            if n >= 2 * keep_recent:
                                del recent[:-keep_recent]
                            if len(pairs) >= pair_capacity:
                                rings.prune(at)
                        recent.append((at, voter, value))
                    elif tb.recent:
                        tb.recent = []

            # -- the standing vote and the tally --------------------------------------------------------
            if prev is not None:
                # re-read: a finding above (a ring, a velocity run-up) may have revised the very vote
                # this one replaces, and the tally now holds it with its revised weight
                prev = tvotes[voter]
                previous_value = pv = prev[0]
                if pv:
                    pw = prev[1]
                    tb.raw -= pv
                    tb.trusted -= pv * pw
                    if pv > 0:
                        tb.ups -= 1
                    else:
                        tb.downs -= 1
                    if pw <= 0.0:
                        tb.not_counted -= 1
                    elif pw < 1.0:
                        tb.reduced -= 1
            else:
                previous_value = 0
            if value:
                tb.raw += value
                if value > 0:
                    tb.ups += 1
                else:
                    tb.downs += 1
            if why is None:
                rt = _EMPTY
                outcome = COUNTED
                if value:
                    tb.trusted += value
            else:
                rt = tuple(dict.fromkeys(why))
                if weight <= 0.0:
                    outcome = NOT_COUNTED
                    if value:
                        tb.not_counted += 1
                elif weight < 1.0:
                    outcome = REDUCED
                    if value:
                        tb.reduced += 1
                        tb.trusted += value * weight
                else:
                    outcome = COUNTED
                    tb.trusted += value
            tvotes[voter] = (value, weight, vote_id, at, rt)
            dirty[target] = None
            append(new_tuple(Decision, (vote_id, voter, target, value, outcome, weight, rt, at, previous_value)))

        self._now = now
        self._sweep_after = sweep_after - n_votes if sweep_after > n_votes else 0
        c = self.counters
        c.votes += n_votes
        c.duplicates += duplicates
        c.repeats += repeats
        c.decided += len(out)
        return out

    # ------------------------------------------------------------------------------------------------
    # reading

    def drain(self) -> Changes:
        """Revisions since the last drain and the absolute tallies of every target touched since."""
        targets = self._targets
        tallies = [self._tally(t, targets[t]) for t in self._dirty if t in targets]
        changes = Changes(self._revisions, tallies)
        self._revisions = []
        self._dirty = {}
        return changes

    def pending(self) -> bool:
        """Whether `drain()` has anything: revisions or touched targets since the last drain."""
        return bool(self._revisions or self._dirty)

    def tally(self, target: str) -> Tally:
        tb = self._targets.get(target)
        return Tally(target, 0, 0.0, 0, 0, 0, 0) if tb is None else self._tally(target, tb)

    def tallies(self) -> Iterator[Tally]:
        for t, tb in self._targets.items():
            yield self._tally(t, tb)

    def standing_vote(self, target: str, voter: str) -> Decision | None:
        """The member's current vote on the target, as a decision (None if never voted)."""
        tb = self._targets.get(target)
        rec = tb.votes.get(voter) if tb is not None else None
        if rec is None:
            return None
        value, weight, vote_id, at, why = rec
        return Decision(vote_id, voter, target, value, outcome_of(weight), weight, why, at, 0)

    def standing_votes(self, target: str) -> Iterator[Decision]:
        tb = self._targets.get(target)
        if tb is not None:
            for voter, (value, weight, vote_id, at, why) in tb.votes.items():
                yield Decision(vote_id, voter, target, value, outcome_of(weight), weight, why, at, 0)

    def ring_members(self) -> list[list[str]]:
        """Members of the rings found and not yet expired."""
        return [list(r["members"]) for r in self.rings.rings.values()]

    @property
    def now(self) -> float:
        """The event-time watermark: the latest `at` seen on a vote."""
        return self._now

    @staticmethod
    def _tally(target: str, tb: TargetState) -> Tally:
        return Tally(target, tb.raw, tb.trusted, tb.ups, tb.downs, tb.reduced, tb.not_counted)

    # ------------------------------------------------------------------------------------------------
    # detectors on the slow path: called only when a cheap test on the hot path fired

    def _probation(self, st: tuple[float, bool, str, bool], at: float) -> list[str]:
        registered_at, verified, level, _ = st
        why = []
        if at - registered_at < self.config.new_account_seconds:
            why.append(R.NEW_ACCOUNT)
        if not verified:
            why.append(R.UNVERIFIED_EMAIL)
        if level == "new":
            why.append(R.LOW_TRUST)
        return why

    def _revise_run_up(self, voter: str, run_up: list[tuple[float, str]], at: float) -> None:
        """A voter crossed the velocity limit: the quick votes that led up to it (within the longest
        debt a voter can run up) are discounted too."""
        since = at - 2 * self.config.velocity_burst * self.config.velocity_interval
        for v_at, target in run_up:
            if v_at >= since:
                self._revise(target, voter, R.VELOCITY, 0.0, at)

    def _shared_origin(self, target: str, origin: str, first: tuple[str, str | None, float], voter: str, device: str | None, at: float) -> float | None:
        """A second account votes on a target from an address already used on it (within the origin
        window). Same device: not counted; another device (a household?): reduced. The first
        account's vote is discounted too, by revision. An address on which many distinct accounts
        collide is a shared network (campus, carrier NAT) and proves nothing."""
        cfg = self.config
        seen = self._origin_accounts.setdefault(origin, {})
        seen[voter] = at
        seen[first[0]] = at
        cutoff = at - cfg.horizon
        if sum(1 for a_at in seen.values() if a_at >= cutoff) >= cfg.origin_network_accounts:
            return None
        cap = 0.0 if device is not None and device == first[1] else cfg.shared_address_weight
        self._revise(target, first[0], R.SHARED_ORIGIN, cap, at)
        return cap

    def _in_network(self, tb: TargetState, target: str, author: str, voter: str, edge: float, at: float, nv: int) -> tuple[str, ...] | None:
        """A vote from one of the author's connections. Alone it is normal and stays counted. A burst
        of them on one target within `burst_window` that is large against the author's own history
        is solicitation: the whole burst is discounted, by revision for the votes that came before it
        was recognised. "Large" is a MIDAS-style chi-square test, (count - expected)² / expected, where
        expected is the author's usual in-network response to a post (an average of the peak window
        counts of their previous posts), so a popular member's friends voting as usual stay counted;
        and the author's network must make up `burst_min_share` of the target's votes in the window,
        so friends joining a post that strangers are voting up by the hundred are not a burst either.
        A connection made just before the vote (or by introduction) counts double and is named."""
        cfg = self.config
        connected_at, introduced = decode_edge(edge)
        age = at - connected_at
        extra: str | None = None
        units = 1
        if introduced and 0.0 <= age <= cfg.introduction_seconds:
            units, extra = 2, R.AFTER_INTRODUCTION
        elif 0.0 <= age <= cfg.recent_connection_seconds:
            units, extra = 2, R.RECENTLY_CONNECTED
        window = cfg.burst_window
        lst = tb.innet
        if lst is None:
            lst = tb.innet = deque()
            tb.innet_units = 0
        cutoff = at - window
        while lst and lst[0][0] < cutoff:
            tb.innet_units -= lst.popleft()[2]
        lst.append((at, voter, units, extra, nv))
        tb.innet_units += units
        if len(lst) > _INNET_KEEP:
            tb.innet_units -= lst.popleft()[2]
        found = (R.SOLICITED_IN_NETWORK_BURST,) if extra is None else (R.SOLICITED_IN_NETWORK_BURST, extra)
        if at <= tb.burst_until:
            tb.burst_until = at + window
            return found
        count = tb.innet_units
        if len(lst) < cfg.burst_min_share * (nv + 1 - lst[0][4]):  # votes on the target since the window's first
            return None
        b = self._baseline.get(author)
        if b is not None and at - b[3] > cfg.burst_baseline_memory:
            b = None
        if b is None:
            b = self._baseline[author] = [0.0, target, 0, at]
        elif b[1] != target:  # the author's previous post is done with: fold its peak into the average
            b[0] = b[2] if b[0] == 0.0 else cfg.burst_baseline_alpha * b[2] + (1 - cfg.burst_baseline_alpha) * b[0]
            b[1] = target
            b[2] = 0
        b[3] = at
        expected = b[0] if b[0] > cfg.burst_baseline_floor else cfg.burst_baseline_floor
        if count >= cfg.burst_min_units and count > expected and (count - expected) ** 2 / expected >= cfg.burst_min_score:
            tb.burst_until = at + window
            for _, e_voter, _, e_extra, _ in list(lst)[:-1]:
                self._revise(target, e_voter, R.SOLICITED_IN_NETWORK_BURST, 0.0, at)
                if e_extra is not None:
                    self._revise(target, e_voter, e_extra, 0.0, at)
            return found
        if count > b[2]:  # an ordinary response raises the post's peak; a burst never raises its own bar
            b[2] = count
        return None

    def _solicited(self, tb: TargetState, target: str, author: str | None, voter: str, s: tuple[float, str], at: float) -> float | None:
        """The voter got a message linking this target shortly before voting. Sent by the author: the
        author asked for it. Sent by someone else: sharing is normal, but `solicitation_burst`
        recipients of one sender voting within the window is a brigade, and all are discounted."""
        cfg = self.config
        sender = s[1]
        if sender == author:
            return cfg.solicited_by_author_weight
        by_sender = tb.solicited
        if by_sender is None:
            by_sender = tb.solicited = {}
        cutoff = at - cfg.solicitation_window
        lst = [e for e in by_sender.get(sender, ()) if e[0] >= cutoff and e[1] != voter]
        lst.append((at, voter))
        by_sender[sender] = lst
        if len(lst) < cfg.solicitation_burst:
            return None
        for _, r in lst[:-1]:
            self._revise(target, r, R.SOLICITED_MESSAGE, 0.0, at)
        return 0.0

    def revise_solicitation(self, s: Solicitation, author: str | None) -> int:
        """A solicitation that arrived after the votes it explains (the context feed lags the votes):
        the author's own link to the target, sent to recipients who then voted on it within the window,
        revises their standing votes as `solicited_message` would have decided them. Links from others
        are left to the burst rule at decision time. Returns how many votes were revised."""
        if author is None or s.sender != author:
            return 0
        tb = self._targets.get(s.target)
        if tb is None:
            return 0
        window = self.config.solicitation_window
        cap = self.config.solicited_by_author_weight
        at = self._now if self._now > s.at else s.at
        n = 0
        for r in s.recipients:
            rec = tb.votes.get(r)
            if rec is not None and rec[0] != 0 and 0.0 <= rec[3] - s.at <= window and (R.SOLICITED_MESSAGE not in rec[4] or rec[1] > cap):
                self._revise(s.target, r, R.SOLICITED_MESSAGE, cap, at)
                n += 1
        return n

    # ------------------------------------------------------------------------------------------------
    # revisions

    def _revise(self, target: str, voter: str, reason: str, cap: float, at: float) -> None:
        """Add a finding to a standing vote: its weight drops to `cap` (never rises), the reason is
        appended, the tally follows, and a Revision is queued for `drain()`."""
        tb = self._targets.get(target)
        if tb is None:
            return
        rec = tb.votes.get(voter)
        if rec is None or rec[0] == 0:
            return
        value, weight, vote_id, vat, why = rec
        new_weight = cap if cap < weight else weight
        if reason in why and new_weight == weight:
            return
        new_why = why if reason in why else (*why, reason)
        tb.count(value, weight, -1)
        tb.count(value, new_weight, 1)
        tb.votes[voter] = (value, new_weight, vote_id, vat, new_why)
        self._dirty[target] = None
        self.counters.revisions += 1
        self._revisions.append(
            Revision(vote_id, voter, target, value, outcome_of(new_weight), new_weight, new_why, outcome_of(weight), weight, at)
        )

    # ------------------------------------------------------------------------------------------------
    # memory

    def sweep(self, now: float) -> None:
        """Give back memory held by windows that have expired. Never changes a decision: every window
        is also checked by time where it is read."""
        cfg = self.config
        self._next_sweep = now + cfg.sweep_every
        self.context.sweep(now)
        # in place: decide_batch holds these dicts in locals while it runs
        velocity = self._velocity
        for k in [k for k, tat in velocity.items() if tat <= now]:  # a full bucket is no bucket
            del velocity[k]
        since = now - 2 * cfg.velocity_burst * cfg.velocity_interval
        run_up = self._run_up
        for k in [k for k, ru in run_up.items() if not ru or ru[-1][0] < since]:
            del run_up[k]
        longest = max(cfg.lockstep_slow_window, cfg.origin_window, cfg.burst_window, cfg.solicitation_window)
        for tb in self._targets.values():
            if tb.last_at < now - longest:
                if tb.recent:
                    tb.recent = []
                tb.origins = tb.innet = tb.solicited = None
        self.rings.sweep(now)
        cutoff = now - cfg.horizon
        accounts = {}
        for o, seen in self._origin_accounts.items():
            kept = {a: at for a, at in seen.items() if at >= cutoff}
            if kept:
                accounts[o] = kept
        self._origin_accounts = accounts
        memory = now - cfg.burst_baseline_memory
        self._baseline = {a: b for a, b in self._baseline.items() if b[3] >= memory}

    def _state_size(self) -> int:
        r = self.rings
        return len(self._targets) + len(self._velocity) + len(r.pairs) + len(r.recip) + len(r.activity)

    def evict_idle_targets(self, idle_seconds: float) -> list[str]:
        """Forget targets with no vote for `idle_seconds` (their standing votes are in the database).
        Returns their ids; before deciding a later vote on one, the consumer admits it back."""
        cutoff = self._now - idle_seconds
        gone = [t for t, tb in self._targets.items() if tb.last_at < cutoff]
        for t in gone:
            del self._targets[t]
        return gone

    def admit_target(self, target: str, partition: int, standing: Iterable[Decision]) -> None:
        """Page a target back in from stored ballots (as decisions: voter, value, weight, reasons, at)."""
        tb = self._targets[target] = TargetState(partition)
        for d in standing:
            tb.votes[d.voter] = (d.value, d.weight, d.vote_id, d.at, tuple(d.reasons))
            tb.count(d.value, d.weight, 1)
            if d.at > tb.last_at:
                tb.last_at = d.at

    def is_resident(self, target: str) -> bool:
        return target in self._targets

    def drop_partition(self, partition: int) -> int:
        """Forget every target of a partition (revoked in a rebalance). Returns how many."""
        gone = [t for t, tb in self._targets.items() if tb.partition == partition]
        for t in gone:
            del self._targets[t]
            self._dirty.pop(t, None)
        return len(gone)

    # ------------------------------------------------------------------------------------------------
    # snapshot / restore

    def snapshot(self, partitions: Iterable[int] | None = None, *, shared: bool = True, context: bool = True) -> dict[str, Any]:
        """The state as plain JSON-ready data (orjson.dumps works on it as is).

        `partitions` limits the target-keyed part to those partitions (None: all); `shared` adds the
        member-keyed behaviour windows; `context` the context. Restoring a full snapshot and feeding
        the same events afterwards gives the same decisions, revisions and tallies as a run that never
        stopped. Undrained revisions are output, not state: drain before snapshotting."""
        wanted = None if partitions is None else set(partitions)
        snap: dict[str, Any] = {
            "version": SNAPSHOT_VERSION,
            "config": self.config.as_dict(),
            "targets": {t: tb.dump() for t, tb in self._targets.items() if wanted is None or tb.partition in wanted},
        }
        if shared:
            snap["shared"] = {
                "now": _finite(self._now),
                "next_sweep": _finite(self._next_sweep),
                "sweep_after": self._sweep_after,
                "velocity": dict(self._velocity),
                "run_up": {k: [list(e) for e in ru] for k, ru in self._run_up.items()},
                "baseline": {a: list(b) for a, b in self._baseline.items()},
                "origin_accounts": {o: dict(d) for o, d in self._origin_accounts.items()},
                "rings": self.rings.snapshot(),
                "counters": [getattr(self.counters, f.name) for f in fields(Counters)],
            }
        if context:
            snap["context"] = self.context.snapshot()
        return snap

    @classmethod
    def restore(cls, snap: dict[str, Any], config: IntegrityConfig | None = None, context: IntegrityContext | None = None) -> VotePipeline:
        """A pipeline from a snapshot (its config too, unless one is given; its context too, unless the
        snapshot has none or a shared context object is given)."""
        if snap.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {snap.get('version')!r}")
        config = config or IntegrityConfig(**snap["config"])
        if context is None:
            context = IntegrityContext.restore(snap["context"], config) if "context" in snap else IntegrityContext(config)
        p = cls(config, context)
        p.restore_targets(snap)
        shared = snap.get("shared")
        if shared is not None:
            p._now = _inf(shared["now"])
            p._next_sweep = _inf(shared["next_sweep"])
            p._sweep_after = shared["sweep_after"]
            p._velocity.update(shared["velocity"])
            p._run_up.update((k, [(e[0], e[1]) for e in ru]) for k, ru in shared["run_up"].items())
            p._baseline = {a: list(b) for a, b in shared["baseline"].items()}
            p._origin_accounts = {o: dict(d) for o, d in shared["origin_accounts"].items()}
            p.rings.restore(shared["rings"])
            p.counters = Counters(*shared["counters"])
        return p

    def restore_targets(self, snap: dict[str, Any]) -> None:
        """Load the target-keyed part of a snapshot, e.g. a partition assigned after a rebalance."""
        for t, data in snap["targets"].items():
            self._targets[t] = TargetState.load(data)


def _finite(x: float) -> float | None:
    return None if x == -math.inf else x


def _inf(x: float | None) -> float:
    return -math.inf if x is None else x
