"""Thresholds and weights of the vote decision pipeline, in one frozen value.

Every weight is a multiple of 1/64 so that trusted scores, which add and subtract `value × weight`
as votes change and decisions are revised, stay exact in binary floating point: a tally rebuilt from
a snapshot equals one kept live, to the last bit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True)
class IntegrityConfig:
    # --- probation (profile signals) -------------------------------------------------------------
    new_account_seconds: float = 3 * DAY  # younger accounts vote at `probation_weight`
    probation_weight: float = 0.5

    # --- velocity: a token bucket per voter (GCRA); a token is one vote -------------------------------
    velocity_burst: int = 12  # votes a person may cast back to back
    velocity_interval: float = 4.0  # seconds to earn one more vote: ~15 votes/min sustained

    # --- shared origin: several accounts, one client address, one target -----------------------------
    origin_window: float = DAY
    shared_address_weight: float = 0.5  # same address, different device (a household?)
    origin_network_accounts: int = 8  # an address on which this many accounts collide is a shared network (NAT)
    origin_max_voters: int = 500  # addresses are tracked on a target until it has this many votes

    # --- solicited votes: the author's own network voting in a burst ---------------------------------
    burst_window: float = 2 * HOUR
    burst_min_units: int = 4  # a connection's vote is 1 unit, a recent connection's or introduction's 2
    burst_min_score: float = 8.0  # MIDAS-style chi-square score against the author's own baseline
    burst_min_share: float = 0.34  # ... and the author's network cast this share of the target's votes meanwhile
    burst_baseline_alpha: float = 0.3  # weight of the latest post in the author's average in-network peak
    burst_baseline_memory: float = 90 * DAY  # an author silent this long starts from no history
    burst_baseline_floor: float = 0.25  # expected in-network units per window for an author with no history
    recent_connection_seconds: float = HOUR
    introduction_seconds: float = DAY

    # --- solicited by message ------------------------------------------------------------------------
    solicitation_window: float = 6 * HOUR
    solicitation_burst: int = 3  # recipients of one sender voting on the target within the window
    solicited_by_author_weight: float = 0.0

    # --- lockstep (CopyCatch / SynchroTrap-style co-voting) ------------------------------------------
    lockstep_window: float = 30 * 60.0  # two same-value votes on one target this close are a co-vote
    lockstep_cold_voters: int = 60  # ... counted only while the target has at most this many votes:
    #                                 in a crowd, voting together carries no signal (and costs pairs)
    lockstep_slow_window: float = 4 * DAY  # on a very cold target, this close is a co-vote (slow drip)
    lockstep_slow_voters: int = 12  # "very cold": at most this many standing votes
    lockstep_lookback: int = 6  # co-votes are counted against at most this many previous voters
    lockstep_pair_min: int = 3  # co-votes on distinct targets before a pair is "synchronised"
    lockstep_ring_min: int = 4  # members of a dense synchronised group before it is a ring
    lockstep_pair_capacity: int = 400_000  # co-vote (and reciprocity) counters kept, each (bounded memory)

    # --- reciprocal rings ----------------------------------------------------------------------------
    reciprocal_min: int = 2  # votes each way, on distinct targets, within the horizon
    reciprocal_share: float = 0.25  # ... and at least this share of each side's votes in the horizon

    # --- memory ----------------------------------------------------------------------------------------
    horizon: float = 30 * DAY  # how long ring/pair/reciprocal evidence is kept
    recent_votes_per_target: int = 16  # window of recent votes kept per target
    sweep_every: float = HOUR  # event-time interval between sweeps of expired window state ...
    sweep_min_votes: int = 20_000  # ... once at least this many votes came in since the last sweep,
    #                                so that a sweep's cost (linear in the state) stays amortised

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name.endswith("_weight"):
                w = getattr(self, f.name)
                if not 0.0 <= w <= 1.0 or (w * 64) != int(w * 64):
                    raise ValueError(f"{f.name}={w!r}: weights are multiples of 1/64 in [0, 1]")
        if self.velocity_burst < 1 or self.velocity_interval <= 0:
            raise ValueError("velocity_burst >= 1 and velocity_interval > 0")
        if self.lockstep_ring_min < 3 or self.lockstep_pair_min < 2:
            raise ValueError("lockstep_ring_min >= 3 and lockstep_pair_min >= 2")

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)
