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

    # --- velocity: a token bucket per voter; a token is one vote -------------------------------------
    velocity_burst: int = 12  # votes a person may cast back to back
    velocity_interval: float = 4.0  # seconds to earn one more vote: ~15 votes/min sustained

    # --- shared origin: several accounts, one client address, one target -----------------------------
    origin_window: float = DAY
    shared_address_weight: float = 0.5  # same address, different device (a household?)
    origin_network_accounts: int = 24  # an address used by this many accounts is a shared network (NAT)

    # --- solicited votes: the author's own network voting in a burst ---------------------------------
    burst_window: float = 2 * HOUR
    burst_min_units: int = 4  # a connection's vote is 1 unit, a recent connection's or introduction's 2
    burst_min_score: float = 8.0  # MIDAS-style chi-square score against the author's own baseline
    burst_baseline_halflife: float = 14 * DAY
    burst_baseline_floor: float = 0.25  # expected in-network votes per window for an author with no history
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
    lockstep_pair_capacity: int = 400_000  # pair counters kept per generation (bounded memory)

    # --- reciprocal rings ----------------------------------------------------------------------------
    reciprocal_min: int = 3  # votes each way, on distinct targets, within the horizon
    reciprocal_share: float = 0.2  # ... and at least this share of each side's votes in the horizon

    # --- memory ----------------------------------------------------------------------------------------
    horizon: float = 14 * DAY  # how long ring/pair/reciprocal evidence is kept
    recent_votes_per_target: int = 16  # window of recent votes kept per target
    sweep_every: float = HOUR  # event-time interval between sweeps of expired window state

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
