"""Evaluate the vote decision pipeline on real data with injected, labelled manipulation.

    uv run python bench/voting_eval.py [--graph ciao|reed98] [--data ../shared/data] [--seed 7]

Organic behaviour is real: CiaoDVD movie ratings (Guo et al., ASONAM 2014) read in place from the
shared data folder. Mapping (deterministic):
  * target = movieID. Its "author" = the member who reviewed it first (earliest date, then file
    order): that first review is the post (a ContentAuthored event), every later rating is a vote.
    Ratings >= 4 are up-votes, <= 2 down-votes, 3 are ignored; an author rating their own DVD again is
    dropped (it is not a vote on someone else's post).
  * connection graph = the CiaoDVD trust graph made undirected (trustor -- trustee), connected before
    the data begins (provenance "import"); or, with --graph reed98, socfb-Reed98's 962 members mapped
    onto the 962 most active Ciao raters (raters by votes desc, Reed nodes by degree desc, ties by id).
  * time: dates only in the data. Each (member, day) is one session starting at a time drawn from a
    diurnal curve (evening peak), votes within it separated by log-normal gaps (median 40 s).
  * client address / device: each member has a home address and 1-2 devices drawn from 150 common
    user-agent hashes; 3% of connected pairs share a household address; 5% of members are on one of
    15 carrier NATs for part of their sessions.
  * benign look-alikes (labelled organic, they must stay counted): ~1.5% of organic votes are preceded
    by a message from a third party linking the target; ~0.3% by a fresh connection to the author.
  * every member is an established, verified account (the data has no registration dates); the
    probation policy's cost on real newcomers is shown apart, as a sensitivity line.

Injected manipulation (fixed seeds; attackers are real members taken from the graph, with their own
organic votes going on; timing jittered; ring posts also draw organic votes):
  ring            lockstep rings of 5, 10 and 25 members boosting their own new posts and customers'
  slow_drip       rings of 6-10 whose votes on each other's posts are spread over hours to days
  vote_trading    two or three members up-voting each other's posts for weeks (reciprocity)
  solicited_burst an author's own connections voting a new post within the hour
  new_connections an author connects (or is introduced) to members minutes before they vote
  message         the author messages a link to 5-15 members; a third party forwarding to many
  sockpuppet      2-5 extra accounts (fresh or aged, same address, same or other device) voting
  scripted        a hijacked member's account voting dozens of targets seconds apart

Reports per attack type (recall; precision and organic cost in a run with only that attack injected),
the same for all attacks at once, and per reason code. Goal: >= 90% recall with <= 1% of organic
votes discounted. A vote is "discounted" when its final decision (after revisions) has weight < 1.
"""

from __future__ import annotations

import argparse
import bisect
import copy
import math
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.voting.integrity import (  # noqa: E402
    Connection,
    ContentAuthored,
    IntegrityConfig,
    Solicitation,
    TrustSignal,
    Vote,
    VotePipeline,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ORGANIC = "organic"
ATTACKS = ("ring", "slow_drip", "vote_trading", "solicited_burst", "new_connections", "message", "sockpuppet", "scripted")
MIN = 60.0
HOUR = 3600.0
DAY = 86400.0


@dataclass
class World:
    """Organic events and the facts the attack injectors draw on."""

    events: list[tuple[float, int, object]] = field(default_factory=list)  # (at, seq, event)
    labels: dict[str, str] = field(default_factory=dict)  # vote_id -> ORGANIC or attack type
    adj: dict[str, set[str]] = field(default_factory=dict)
    home: dict[str, str] = field(default_factory=dict)  # member -> home address hash
    devices: dict[str, list[str]] = field(default_factory=dict)
    activity: dict[str, list[float]] = field(default_factory=dict)  # member -> sorted vote times
    targets: dict[str, tuple[str, float]] = field(default_factory=dict)  # target -> (author, posted_at)
    target_votes: Counter[str] = field(default_factory=Counter)
    t_first: float = 0.0
    t_last: float = 0.0
    seq: int = 0
    next_target: int = 0
    next_member: int = 0

    def add(self, at: float, event: object, label: str | None = None) -> None:
        self.seq += 1
        self.events.append((at, self.seq, event))
        if isinstance(event, Vote):
            self.labels[event.vote_id] = label or ORGANIC

    def vote(self, at: float, voter: str, target: str, value: int, label: str, origin: str | None = None, device: str | None = None) -> None:
        author = self.targets[target][0]
        vid = str(self.seq + 1)
        self.add(
            at,
            Vote(vid, voter, target, author, value, at, origin or self.home[voter], device or self.devices[voter][0]),
            label,
        )

    def new_target(self, author: str, at: float) -> str:
        self.next_target += 1
        t = str(self.next_target)
        self.targets[t] = (author, at)
        self.add(at, ContentAuthored(t, author, at))
        return t

    def active(self, member: str, at: float, within: float = 180 * DAY) -> bool:
        ts = self.activity.get(member)
        if not ts:
            return False
        i = bisect.bisect_left(ts, at - within)
        return i < len(ts) and ts[i] <= at + within


def day_epoch(date: str) -> float:
    return datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def diurnal_second(rnd: random.Random) -> float:
    """Seconds after midnight: mostly evening (peak ~20:30), some daytime, little at night."""
    r = rnd.random()
    if r < 0.55:
        h = rnd.gauss(20.5, 2.2)
    elif r < 0.9:
        h = rnd.gauss(13.0, 3.0)
    else:
        h = rnd.uniform(0, 24)
    return (h % 24) * HOUR


def load_world(data: Path, graph: str, seed: int) -> World:
    rnd = random.Random(seed)
    w = World()
    rows = []
    with open(data / "ciaodvd" / "ciao_ratings.txt", encoding="latin-1") as f:
        for i, line in enumerate(f):
            user, movie, _genre, _review, rating, date = line.strip().split(",")
            rows.append((date, i, user, movie, int(rating)))
    rows.sort()
    # graph
    if graph == "ciao":
        with open(data / "ciaodvd" / "ciao_trusts.txt", encoding="latin-1") as f:
            for line in f:
                a, b, _ = line.strip().split(",")
                if a != b:
                    w.adj.setdefault(a, set()).add(b)
                    w.adj.setdefault(b, set()).add(a)
    else:
        votes_per_user = Counter(r[2] for r in rows)
        raters = sorted(votes_per_user, key=lambda u: (-votes_per_user[u], int(u)))
        reed: dict[str, set[str]] = defaultdict(set)
        with open(data / "socfb-Reed98" / "socfb-Reed98.edges") as f:
            for line in f:
                a, b = line.split()
                reed[a].add(b)
                reed[b].add(a)
        nodes = sorted(reed, key=lambda n: (-len(reed[n]), int(n)))
        to_member = dict(zip(nodes, raters, strict=False))
        for a, nb in reed.items():
            w.adj[to_member[a]] = {to_member[b] for b in nb}
    members = sorted({r[2] for r in rows} | set(w.adj), key=int)
    w.next_member = max(int(m) for m in members)
    # addresses and devices
    ua_cum = list(_cum([1.0 / (k + 1) ** 1.1 for k in range(150)]))
    for m in members:
        w.home[m] = f"h{m}"
        w.devices[m] = [f"ua{rnd.choices(range(150), cum_weights=ua_cum)[0]}" for _ in range(rnd.choice((1, 1, 2)))]
    for a in members:  # households among connected members
        nb = sorted(w.adj.get(a, ()), key=int)
        if nb and rnd.random() < 0.03:
            w.home[rnd.choice(nb)] = w.home[a]
    nat_of = {m: f"nat{rnd.randrange(15)}" for m in members if rnd.random() < 0.05}
    # posts and votes
    t_epoch = day_epoch(rows[0][0]) - 400 * DAY
    for a, nb in sorted(w.adj.items(), key=lambda x: int(x[0])):
        for b in sorted(nb, key=int):
            if int(a) < int(b):
                w.add(t_epoch, Connection(a, b, t_epoch - rnd.uniform(0, 900) * DAY, "import"))
    for m in members:
        w.add(t_epoch, TrustSignal(m, t_epoch - rnd.uniform(30, 2000) * DAY, True, "member"))
    session: dict[tuple[str, str], float] = {}
    for date, _i, user, movie, rating in rows:
        key = (user, date)
        at = session.get(key)
        at = day_epoch(date) + diurnal_second(rnd) if at is None else at + rnd.lognormvariate(math.log(40.0), 1.0)
        session[key] = at
        if movie not in w.targets:
            w.targets[movie] = (user, at)
            w.add(at, ContentAuthored(movie, user, at))
            continue
        if rating == 3 or user == w.targets[movie][0]:
            continue
        value = 1 if rating >= 4 else -1
        origin = nat_of[user] if user in nat_of and rnd.random() < 0.4 else None
        device = rnd.choice(w.devices[user])
        w.vote(at, user, movie, value, ORGANIC, origin, device)
        w.activity.setdefault(user, []).append(at)
        w.target_votes[movie] += 1
    w.next_target = max(int(t) for t in w.targets)
    w.t_first = day_epoch(rows[0][0])
    w.t_last = day_epoch(rows[-1][0]) + DAY
    for ts in w.activity.values():
        ts.sort()
    _benign_lookalikes(w, rnd)
    return w


def _cum(ws: list[float]) -> list[float]:
    acc, out = 0.0, []
    for x in ws:
        acc += x
        out.append(acc)
    return out


def _benign_lookalikes(w: World, rnd: random.Random) -> None:
    """Organic sharing and fresh connections that a careless detector would flag."""
    votes = [(at, e) for at, _, e in w.events if isinstance(e, Vote)]
    members = sorted(w.home, key=int)
    for at, v in votes:
        r = rnd.random()
        if r < 0.015:
            friends = sorted(w.adj.get(v.voter, set()) - {v.target_author}, key=int)
            sender = rnd.choice(friends) if friends else rnd.choice(members)
            if sender in (v.voter, v.target_author):
                continue
            others = tuple(rnd.choice(members) for _ in range(rnd.randrange(3)))
            s_at = at - rnd.uniform(5 * MIN, 2 * HOUR)
            w.add(s_at, Solicitation(sender, (v.voter, *others), v.target, s_at))
        elif r < 0.018 and v.target_author is not None and v.voter not in w.adj.get(v.target_author, ()):
            prov = rnd.choice(("invitation", "suggestion", "introduction"))
            c_at = at - rnd.uniform(5 * MIN, 50 * MIN)
            w.add(c_at, Connection(v.voter, v.target_author, c_at, prov))


# ----------------------------------------------------------------------------------------------------
# attack injectors: each draws real members from the graph and labels the votes it adds


def _cluster(w: World, rnd: random.Random, size: int, at: float, taken: set[str]) -> list[str]:
    """A connected group of members active around `at` (BFS from a random active seed)."""
    for _ in range(400):
        seed = rnd.choice(sorted(w.adj, key=int))
        if seed in taken or not w.active(seed, at):
            continue
        group, frontier = [seed], [seed]
        while frontier and len(group) < size:
            x = frontier.pop(0)
            nb = sorted(w.adj.get(x, ()) - set(group) - taken, key=int)
            rnd.shuffle(nb)
            for y in nb:
                if len(group) < size and w.active(y, at, 720 * DAY):
                    group.append(y)
                    frontier.append(y)
        if len(group) == size:
            return group
    raise RuntimeError("no cluster found")


def _time(w: World, rnd: random.Random) -> float:
    """An attack start time: a random organic vote's day, so attacks sit among real activity."""
    at = rnd.uniform(w.t_first + 300 * DAY, w.t_last - 60 * DAY)
    return day_epoch(datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")) + diurnal_second(rnd)


def _organic_followers(w: World, rnd: random.Random, target: str, at: float, k: int) -> None:
    """Some unrelated members vote on an injected post over the following days (labelled organic)."""
    members = sorted(w.activity, key=int)
    for _ in range(k):
        m = rnd.choice(members)
        if m != w.targets[target][0]:
            w.vote(at + rnd.uniform(1 * HOUR, 6 * DAY), m, target, 1 if rnd.random() < 0.8 else -1, ORGANIC)


def inject_rings(w: World, rnd: random.Random, taken: set[str], label: str = "ring") -> None:
    for size in (5, 5, 10, 10, 25, 25):
        start = _time(w, rnd)
        ring = _cluster(w, rnd, size, start, taken)
        taken.update(ring)
        customer = rnd.choice(sorted(w.activity, key=int))
        at = start
        posts = []
        for i in range(12):
            at += rnd.uniform(6 * HOUR, 3 * DAY)
            if i % 4 == 3:  # a customer's post: an outsider pays the ring
                posts.append((w.new_target(customer, at), at))
            else:
                posts.append((w.new_target(ring[i % size], at), at))
        for t, t_at in posts:
            author = w.targets[t][0]
            for m in ring:
                if m != author and rnd.random() < 0.8:
                    w.vote(t_at + rnd.lognormvariate(math.log(12 * MIN), 0.8), m, t, 1, label)
            _organic_followers(w, rnd, t, t_at, rnd.randrange(0, 5))


def inject_slow_drip(w: World, rnd: random.Random, taken: set[str], label: str = "slow_drip") -> None:
    for size in (6, 8, 10, 8):
        start = _time(w, rnd)
        ring = _cluster(w, rnd, size, start, taken)
        taken.update(ring)
        at = start
        for i in range(10):
            at += rnd.uniform(1 * DAY, 4 * DAY)
            author = ring[i % size]
            t = w.new_target(author, at)
            for m in ring:
                if m != author and rnd.random() < 0.7:
                    w.vote(at + rnd.uniform(2 * HOUR, 4 * DAY), m, t, 1, label)
            _organic_followers(w, rnd, t, at, rnd.randrange(0, 4))


def inject_vote_trading(w: World, rnd: random.Random, taken: set[str], label: str = "vote_trading") -> None:
    """Two or three members (connected or not) up-vote each other's posts over weeks: too few for a
    lockstep ring, caught only as reciprocity."""
    members = sorted(w.activity, key=int)
    for i in range(10):
        start = _time(w, rnd)
        size = 2 if i % 2 else 3
        group = []
        while len(group) < size:
            m = rnd.choice(members)
            if m not in taken and m not in group and w.active(m, start):
                group.append(m)
        taken.update(group)
        posts = []
        for author in group:
            at = start
            for _ in range(rnd.randint(4, 6)):
                at += rnd.uniform(2 * DAY, 6 * DAY)
                posts.append((w.new_target(author, at), at))
        for t, t_at in posts:
            author = w.targets[t][0]
            for m in group:
                if m != author and rnd.random() < 0.9:
                    w.vote(t_at + rnd.uniform(30 * MIN, 2 * DAY), m, t, 1, label)
            _organic_followers(w, rnd, t, t_at, rnd.randrange(0, 4))


def _authors_with_network(w: World, rnd: random.Random, at: float, min_degree: int, taken: set[str]) -> str:
    for _ in range(1000):
        a = rnd.choice(sorted(w.adj, key=int))
        if a not in taken and len(w.adj[a]) >= min_degree and w.active(a, at, 720 * DAY):
            return a
    raise RuntimeError("no author with a network")


def inject_solicited_bursts(w: World, rnd: random.Random, taken: set[str], label: str = "solicited_burst") -> None:
    for _ in range(14):
        at = _time(w, rnd)
        author = _authors_with_network(w, rnd, at, 8, taken)
        taken.add(author)
        t = w.new_target(author, at)
        friends = sorted(w.adj[author], key=int)
        k = min(len(friends), rnd.randint(4, 12))
        for m in rnd.sample(friends, k):
            w.vote(at + rnd.lognormvariate(math.log(25 * MIN), 0.9), m, t, 1, label)
        _organic_followers(w, rnd, t, at, rnd.randrange(1, 6))


def inject_new_connections(w: World, rnd: random.Random, taken: set[str], label: str = "new_connections") -> None:
    members = sorted(w.activity, key=int)
    for _ in range(12):
        at = _time(w, rnd)
        author = _authors_with_network(w, rnd, at, 1, taken)
        taken.add(author)
        t = w.new_target(author, at)
        k = rnd.randint(3, 8)
        prov = rnd.choice(("invitation", "introduction"))
        for m in rnd.sample(members, k):
            if m == author or m in w.adj.get(author, ()):
                continue
            c_at = at + rnd.uniform(0, 40 * MIN)
            w.add(c_at, Connection(author, m, c_at, prov))
            w.vote(c_at + rnd.uniform(1 * MIN, 40 * MIN), m, t, 1, label)
        _organic_followers(w, rnd, t, at, rnd.randrange(1, 6))


def inject_messages(w: World, rnd: random.Random, taken: set[str], label: str = "message") -> None:
    members = sorted(w.activity, key=int)
    for i in range(14):
        at = _time(w, rnd)
        author = _authors_with_network(w, rnd, at, 2, taken)
        taken.add(author)
        t = w.new_target(author, at)
        friends = sorted(w.adj[author], key=int)
        n = rnd.randint(5, 15)
        recipients = list(dict.fromkeys([*rnd.sample(friends, min(len(friends), n // 2)), *rnd.sample(members, n - n // 2)]))
        recipients = [r for r in recipients if r != author]
        # two in three: the author sends it; one in three: a friend forwards it to many
        sender = author if i % 3 else rnd.choice(friends)
        recipients = [r for r in recipients if r != sender]
        s_at = at + rnd.uniform(1 * MIN, 30 * MIN)
        w.add(s_at, Solicitation(sender, tuple(recipients), t, s_at))
        for r in recipients:
            if rnd.random() < 0.65:
                w.vote(s_at + rnd.lognormvariate(math.log(30 * MIN), 1.0), r, t, 1, label)
        _organic_followers(w, rnd, t, at, rnd.randrange(1, 6))


def inject_sockpuppets(w: World, rnd: random.Random, taken: set[str], label: str = "sockpuppet") -> None:
    for i in range(16):
        at = _time(w, rnd)
        attacker = _authors_with_network(w, rnd, at, 1, taken)
        taken.add(attacker)
        puppets = []
        for _ in range(rnd.randint(2, 5)):
            w.next_member += 1
            p = str(w.next_member)
            fresh = rnd.random() < 0.5
            registered = at - (rnd.uniform(1 * HOUR, 48 * HOUR) if fresh else rnd.uniform(100 * DAY, 800 * DAY))
            verified = (rnd.random() < 0.3) if fresh else True
            w.add(registered, TrustSignal(p, registered, verified, "new" if fresh else "member"))
            # most puppets are run from the attacker's own address; one in four from elsewhere (a VPN)
            w.home[p] = w.home[attacker] if rnd.random() < 0.75 else f"vpn{rnd.randrange(10**9)}"
            w.devices[p] = [w.devices[attacker][0] if rnd.random() < 0.7 else f"ua{rnd.randrange(150)}"]
            puppets.append(p)
        for j in range(rnd.randint(2, 4)):
            t_at = at + j * rnd.uniform(1 * DAY, 5 * DAY)
            t = w.new_target(attacker, t_at)
            for p in puppets:
                w.vote(t_at + rnd.uniform(1 * MIN, 30 * MIN), p, t, 1, label)
            _organic_followers(w, rnd, t, t_at, rnd.randrange(1, 6))


def inject_scripted(w: World, rnd: random.Random, taken: set[str], label: str = "scripted") -> None:
    old_targets = sorted((t for t in w.targets if w.target_votes[t] > 0), key=int)
    for _ in range(8):
        at = _time(w, rnd)
        bot = rnd.choice(sorted(m for m in w.activity if m not in taken and w.active(m, at)))
        taken.add(bot)
        for t in rnd.sample(old_targets, rnd.randint(30, 60)):
            if w.targets[t][0] == bot:
                continue
            at += rnd.uniform(0.8, 3.0)
            w.vote(at, bot, t, 1 if rnd.random() < 0.9 else -1, label)


INJECTORS = {
    "ring": inject_rings,
    "slow_drip": inject_slow_drip,
    "vote_trading": inject_vote_trading,
    "solicited_burst": inject_solicited_bursts,
    "new_connections": inject_new_connections,
    "message": inject_messages,
    "sockpuppet": inject_sockpuppets,
    "scripted": inject_scripted,
}


# ----------------------------------------------------------------------------------------------------
# running and scoring


@dataclass
class Result:
    labels: dict[str, str]
    weight: dict[str, float]  # vote_id -> final weight of the standing vote
    why: dict[str, tuple[str, ...]]
    seconds: float
    votes: int


def clone(base: World) -> World:
    """A copy the injectors may add to, sharing the read-only parts with the organic world."""
    w = copy.copy(base)
    w.events = list(base.events)
    w.labels = dict(base.labels)
    w.targets = dict(base.targets)
    w.home = dict(base.home)
    w.devices = dict(base.devices)
    return w


def run(base: World, seed: int, attacks: tuple[str, ...], config: IntegrityConfig, newcomers: float = 0.0) -> Result:
    w = clone(base)
    taken: set[str] = set()
    for i, name in enumerate(ATTACKS):
        if name in attacks:
            INJECTORS[name](w, random.Random(seed * 1000 + i), taken)
    if newcomers:
        _newcomers(w, random.Random(seed + 99), newcomers)
    w.events.sort(key=lambda e: (e[0], e[1]))
    pipeline = VotePipeline(config)
    start = time.perf_counter()
    n = 0
    for _ in pipeline.run(e for _, _, e in w.events):
        n += 1
        if n % 20000 == 0:
            pipeline.drain()
    pipeline.drain()
    seconds = time.perf_counter() - start
    weight, why = {}, {}
    for tally in pipeline.tallies():
        for d in pipeline.standing_votes(tally.target):
            if d.value != 0 and d.vote_id in w.labels:
                weight[d.vote_id] = d.weight
                why[d.vote_id] = d.reasons
    return Result(w.labels, weight, why, seconds, pipeline.counters.votes)


def _newcomers(w: World, rnd: random.Random, share: float) -> None:
    """Sensitivity: a share of members registered (unverified yet) the day they first voted."""
    for m, ts in sorted(w.activity.items(), key=lambda x: int(x[0])):
        if rnd.random() < share:
            reg = ts[0] - rnd.uniform(10 * MIN, 20 * HOUR)
            w.add(reg, TrustSignal(m, reg, rnd.random() < 0.7, "member"))


def score(r: Result) -> dict[str, tuple[int, int]]:
    """label -> (votes, discounted) over standing votes."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for vid, wgt in r.weight.items():
        c = out[r.labels[vid]]
        c[0] += 1
        c[1] += wgt < 1.0
    return {k: (v[0], v[1]) for k, v in out.items()}


def explain(base: World, seed: int, attack: str, config: IntegrityConfig) -> None:
    r = run(base, seed, (attack,), config)
    s = score(r)
    print(attack, s.get(attack), "organic", s.get(ORGANIC), f"{r.seconds:.2f} s")
    missed = [vid for vid, wgt in r.weight.items() if r.labels[vid] == attack and wgt >= 1.0]
    print("missed", len(missed), missed[:40])
    fps = [(vid, r.why[vid]) for vid, wgt in r.weight.items() if r.labels[vid] == ORGANIC and wgt < 1.0]
    print("organic discounted", fps[:40])


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:6.2f}%" if b else "     -"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--graph", choices=("ciao", "reed98"), default="ciao")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", choices=ATTACKS, help="run one attack alone and list what it missed")
    args = ap.parse_args()
    config = IntegrityConfig()
    t0 = time.perf_counter()

    base = load_world(args.data, args.graph, args.seed)
    if args.only:
        explain(base, args.seed, args.only, config)
        return
    print(f"CiaoDVD ratings + {args.graph} graph, seed {args.seed}; discounted = final weight < 1\n")
    print(f"{'attack (alone with organic)':28} {'votes':>7} {'recall':>8} {'precision':>10} {'organic discounted':>19}")
    for name in ATTACKS:
        r = run(base, args.seed, (name,), config)
        s = score(r)
        n, tp = s.get(name, (0, 0))
        on, fp = s.get(ORGANIC, (0, 0))
        print(f"{name:28} {n:7d} {pct(tp, n):>8} {pct(tp, tp + fp):>10} {pct(fp, on):>12} ({fp}/{on})")

    r = run(base, args.seed, ATTACKS, config)
    s = score(r)
    inj = sum(v[0] for k, v in s.items() if k != ORGANIC)
    tp = sum(v[1] for k, v in s.items() if k != ORGANIC)
    on, fp = s[ORGANIC]
    print(f"\nall attacks together: {r.votes:,} votes fed, pipeline {r.seconds:.2f} s ({r.votes / r.seconds:,.0f} votes/s incl. context)")
    print(f"{'attack':28} {'votes':>7} {'recall':>8}")
    for name in ATTACKS:
        n, k = s.get(name, (0, 0))
        print(f"{name:28} {n:7d} {pct(k, n):>8}")
    print(f"{'ALL injected':28} {inj:7d} {pct(tp, inj):>8}   precision {pct(tp, tp + fp).strip()}   "
          f"organic discounted {pct(fp, on).strip()} ({fp}/{on})")

    print(f"\n{'reason code':30} {'votes':>7} {'injected':>9} {'organic':>8} {'precision':>10} {'organic share':>14}  by attack")
    per_code: dict[str, Counter[str]] = defaultdict(Counter)
    for vid, why in r.why.items():
        for code in why:
            per_code[code][r.labels[vid]] += 1
    for code in sorted(per_code):
        c = per_code[code]
        org = c.get(ORGANIC, 0)
        tot = sum(c.values())
        by = ", ".join(f"{k} {v}" for k, v in c.most_common() if k != ORGANIC)
        print(f"{code:30} {tot:7d} {tot - org:9d} {org:8d} {pct(tot - org, tot):>10} {pct(org, on):>14}  {by}")

    r2 = run(base, args.seed, (), config, newcomers=0.10)
    s2 = score(r2)
    on2, fp2 = s2[ORGANIC]
    print(
        f"\nsensitivity: if 10% of members had registered (30% unverified) hours before their first vote, "
        f"probation would discount {pct(fp2, on2).strip()} of organic votes ({fp2}/{on2})"
    )
    print(f"\nevaluation wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
