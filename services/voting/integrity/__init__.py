"""Vote integrity: the pure, in-memory decision pipeline behind the tally consumer.

    from services.voting.integrity import VotePipeline, Vote
    pipeline = VotePipeline()
    decisions = pipeline.decide_batch(votes, partition)
    changes = pipeline.drain()          # revisions + absolute tallies of touched targets

See `pipeline.py` for the contract, `reasons.py` for the reason codes, `replay.py` for the offline
command, and docs/voting-integrity.md for the detectors and their evaluation.
"""

from services.voting.integrity.config import IntegrityConfig
from services.voting.integrity.context import IntegrityContext
from services.voting.integrity.events import (
    Block,
    Connection,
    ContentAuthored,
    Decision,
    Revision,
    Solicitation,
    Tally,
    TrustSignal,
    Vote,
)
from services.voting.integrity.pipeline import Changes, Counters, VotePipeline

__all__ = [
    "Block",
    "Changes",
    "Connection",
    "ContentAuthored",
    "Counters",
    "Decision",
    "IntegrityConfig",
    "IntegrityContext",
    "Revision",
    "Solicitation",
    "Tally",
    "TrustSignal",
    "Vote",
    "VotePipeline",
]
