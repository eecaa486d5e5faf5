"""Building event streams for the integrity pipeline's tests: a clock, ids, and a mixed scenario."""

from __future__ import annotations

import itertools
import random

from services.voting.integrity import Block, Connection, ContentAuthored, Solicitation, TrustSignal, Vote
from services.voting.integrity.events import Event

T0 = 1_700_000_000.0
MIN = 60.0
HOUR = 3600.0
DAY = 86400.0


class Stream:
    """Events in the order they are added, with a clock that only moves forward."""

    def __init__(self, start: float = T0) -> None:
        self.now = start
        self.events: list[Event] = []
        self._ids = itertools.count(1)

    def at(self, seconds_later: float) -> Stream:
        self.now += seconds_later
        return self

    def vote(self, voter: str, target: str, author: str | None, value: int = 1, *, origin: str | None = None,
             device: str | None = None, vote_id: str | None = None) -> Vote:
        v = Vote(vote_id or f"v{next(self._ids)}", voter, target, author, value, self.now, origin, device)
        self.events.append(v)
        return v

    def connect(self, a: str, b: str, provenance: str = "invitation", removed: bool = False, at: float | None = None) -> None:
        self.events.append(Connection(a, b, self.now if at is None else at, provenance, removed))

    def block(self, blocker: str, blocked: str, removed: bool = False) -> None:
        self.events.append(Block(blocker, blocked, self.now, removed))

    def trust(self, member: str, registered_ago: float, verified: bool = True, level: str = "member", deleted: bool = False) -> None:
        self.events.append(TrustSignal(member, self.now - registered_ago, verified, level, deleted, self.now))

    def solicit(self, sender: str, recipients: tuple[str, ...], target: str) -> None:
        self.events.append(Solicitation(sender, recipients, target, self.now))

    def post(self, target: str, author: str) -> None:
        self.events.append(ContentAuthored(target, author, self.now))


def mixed(seed: int = 1) -> Stream:
    """Organic votes with every kind of manipulation mixed in: a lockstep ring, a solicited burst, a
    message brigade, sockpuppets, a scripted voter, a reciprocal pair, changes, clears and repeats."""
    rnd = random.Random(seed)
    s = Stream()
    members = [f"m{i}" for i in range(60)]
    for i in range(0, 60, 3):
        s.connect(members[i], members[(i + 7) % 60], "import", at=T0 - 400 * DAY)
    author = "a1"
    friends = [f"f{i}" for i in range(6)]
    for f in friends:
        s.connect(author, f, "import", at=T0 - 300 * DAY)
    s.trust("new1", 2 * HOUR, verified=False, level="new")
    ring = [f"r{i}" for i in range(5)]
    posts = [f"p{i}" for i in range(40)]
    for i, p in enumerate(posts):
        s.post(p, members[i % 60])
    for step in range(600):
        s.at(rnd.uniform(5, 90))
        p = rnd.choice(posts[:30])
        s.vote(rnd.choice(members), p, members[posts.index(p) % 60], rnd.choice((1, 1, 1, -1, 0)), origin=f"o{rnd.randrange(40)}", device="d1")
        if step % 100 == 50:  # the ring co-votes on a fresh post within minutes
            t = f"ring{step}"
            s.post(t, "customer")
            for m in ring:
                s.at(rnd.uniform(10, 120)).vote(m, t, "customer", origin=f"home-{m}", device=f"dev-{m}")
        if step == 120:  # the author's friends, within the hour
            s.post("burst", author)
            for f in friends[:5]:
                s.at(rnd.uniform(60, 600)).vote(f, "burst", author)
        if step == 200:  # one sender forwards a link to many
            s.post("brig", "m5")
            s.solicit("m9", ("m20", "m21", "m22", "m23"), "brig")
            for r in ("m20", "m21", "m22"):
                s.at(rnd.uniform(60, 900)).vote(r, "brig", "m5")
        if step == 300:  # sockpuppets from one address and device
            s.post("puppet-post", "m30")
            for k in range(3):
                s.at(rnd.uniform(30, 300)).vote(f"puppet{k}", "puppet-post", "m30", origin="attic", device="same-ua")
        if step == 400:  # a script
            for k in range(25):
                s.at(1.0).vote("bot", posts[k], members[k % 60])
        if step in (150, 250, 350, 450):  # a reciprocal pair
            s.post(f"x{step}", "ann")
            s.post(f"y{step}", "bob")
            s.at(300).vote("bob", f"x{step}", "ann")
            s.at(300).vote("ann", f"y{step}", "bob")
        if step == 500:
            s.vote("new1", posts[3], members[3])
    return s
