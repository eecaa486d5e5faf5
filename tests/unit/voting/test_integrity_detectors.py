"""Each detector: what it discounts, and the look-alike it must leave counted."""

from __future__ import annotations

from services.voting.integrity import Decision, IntegrityConfig, VotePipeline
from tests.unit.voting.stream import DAY, HOUR, MIN, T0, Stream


def _final(s: Stream, config: IntegrityConfig | None = None) -> dict[tuple[str, str], Decision]:
    """Every standing vote at the end, by (voter, target), revisions applied."""
    p = VotePipeline(config)
    list(p.run(s.events))
    return {(d.voter, d.target): d for t in p.tallies() for d in p.standing_votes(t.target)}


def _outcome(s: Stream, voter: str, target: str) -> tuple[str, tuple[str, ...]]:
    d = _final(s)[(voter, target)]
    return d.outcome, d.reasons


# -- hard rules -------------------------------------------------------------------------------------


def test_self_votes_are_not_counted() -> None:
    s = Stream()
    s.vote("ann", "t", "ann")
    s.at(60).vote("bob", "t", "ann")
    assert _outcome(s, "ann", "t") == ("not_counted", ("self_vote",))
    assert _outcome(s, "bob", "t") == ("counted", ())


def test_the_author_of_a_target_comes_from_content_events_when_the_vote_lacks_it() -> None:
    s = Stream()
    s.post("t", "ann")
    s.at(60).vote("ann", "t", None)
    assert _outcome(s, "ann", "t") == ("not_counted", ("self_vote",))


def test_votes_on_content_of_someone_who_blocked_the_voter_are_not_counted() -> None:
    s = Stream()
    s.block("ann", "bob")
    s.at(60).vote("bob", "t1", "ann")
    s.vote("bob", "t2", "cy")  # cy did not block bob
    s.block("ann", "bob", removed=True)
    s.at(60).vote("bob", "t3", "ann")
    f = _final(s)
    assert (f[("bob", "t1")].outcome, f[("bob", "t1")].reasons) == ("not_counted", ("blocked_by_author",))
    assert f[("bob", "t2")].outcome == "counted"
    assert f[("bob", "t3")].outcome == "counted"


def test_votes_of_deleted_members_are_not_counted() -> None:
    s = Stream()
    s.trust("gone", 400 * DAY, deleted=True)
    s.vote("gone", "t", "ann")
    assert _outcome(s, "gone", "t") == ("not_counted", ("deleted_member",))


# -- probation --------------------------------------------------------------------------------------


def test_new_unverified_and_low_trust_accounts_vote_on_probation() -> None:
    s = Stream()
    s.trust("fresh", 2 * HOUR)
    s.trust("unverified", 400 * DAY, verified=False)
    s.trust("newbie", 400 * DAY, level="new")
    s.trust("old", 400 * DAY, level="trusted")
    for m in ("fresh", "unverified", "newbie", "old", "unknown"):
        s.at(10 * MIN).vote(m, f"t-{m}", "ann")
    f = _final(s)
    assert (f[("fresh", "t-fresh")].outcome, f[("fresh", "t-fresh")].weight, f[("fresh", "t-fresh")].reasons) == ("reduced", 0.5, ("new_account",))
    assert f[("unverified", "t-unverified")].reasons == ("unverified_email",)
    assert f[("newbie", "t-newbie")].reasons == ("low_trust",)
    assert f[("old", "t-old")].outcome == "counted"
    assert f[("unknown", "t-unknown")].outcome == "counted"  # no profile signal is no evidence


def test_probation_ends_with_the_probation_period() -> None:
    s = Stream()
    s.trust("fresh", 2 * HOUR)
    s.at(4 * DAY).vote("fresh", "t", "ann")
    assert _outcome(s, "fresh", "t") == ("counted", ())


# -- velocity ---------------------------------------------------------------------------------------


def test_voting_faster_than_a_person_can_read_is_not_counted_run_up_included() -> None:
    s = Stream()
    for i in range(40):
        s.at(1.0).vote("bot", f"t{i}", "ann")
    f = _final(s)
    flagged = [i for i in range(40) if f[("bot", f"t{i}")].reasons == ("velocity",)]
    assert flagged == list(range(1, 40))  # all but the very first, the run-up by revision


def test_a_person_voting_at_a_human_pace_or_in_a_short_burst_stays_counted() -> None:
    s = Stream()
    for i in range(10):  # a quick burst, then a pause
        s.at(1.0).vote("ann", f"burst{i}", "zed")
    s.at(10 * MIN)
    for i in range(60):  # one every 20 s for 20 minutes
        s.at(20.0).vote("ann", f"page{i}", "zed")
    assert {d.outcome for d in _final(s).values()} == {"counted"}


# -- shared origin ----------------------------------------------------------------------------------


def test_several_accounts_from_one_address_and_device_on_one_target_are_not_counted() -> None:
    s = Stream()
    for who in ("owner", "puppet1", "puppet2"):
        s.at(2 * MIN).vote(who, "t", "ann", origin="addr", device="ua")
    f = _final(s)
    assert {who: (f[(who, "t")].outcome, f[(who, "t")].reasons) for who in ("owner", "puppet1", "puppet2")} == {
        who: ("not_counted", ("shared_origin",)) for who in ("owner", "puppet1", "puppet2")
    }


def test_a_household_on_one_address_with_two_devices_is_reduced_not_removed() -> None:
    s = Stream()
    s.vote("ann", "t", "zed", origin="home", device="phone")
    s.at(HOUR).vote("bob", "t", "zed", origin="home", device="laptop")
    f = _final(s)
    assert (f[("ann", "t")].outcome, f[("bob", "t")].outcome) == ("reduced", "reduced")


def test_one_address_on_different_targets_or_far_apart_in_time_is_fine() -> None:
    s = Stream()
    s.vote("ann", "t1", "zed", origin="home", device="ua")
    s.at(MIN).vote("bob", "t2", "zed", origin="home", device="ua")
    s.at(3 * DAY).vote("bob", "t1", "zed", origin="home", device="ua")
    assert {d.outcome for d in _final(s).values()} == {"counted"}


def test_an_address_shared_by_many_accounts_is_a_network_not_a_sockpuppet_farm() -> None:
    s = Stream()
    config = IntegrityConfig(origin_network_accounts=8)
    for t in range(12):  # a campus NAT: different people keep colliding on popular posts
        for k in range(2):
            s.at(MIN).vote(f"student{t * 2 + k}", f"t{t}", "zed", origin="campus", device=f"ua{k}")
    f = _final(s, config)
    late = [f[(f"student{t * 2 + k}", f"t{t}")].outcome for t in range(6, 12) for k in range(2)]
    assert set(late) == {"counted"}


# -- solicited: the author's own network --------------------------------------------------------------


def _author_with_friends(s: Stream, n: int) -> list[str]:
    friends = [f"f{i}" for i in range(n)]
    for f in friends:
        s.connect("author", f, "import", at=T0 - 300 * DAY)
    return friends


def test_a_burst_of_votes_from_the_authors_connections_is_solicitation() -> None:
    s = Stream()
    friends = _author_with_friends(s, 8)
    s.post("post", "author")
    for f in friends[:5]:
        s.at(6 * MIN).vote(f, "post", "author")
    s.at(MIN).vote("stranger", "post", "author")
    f = _final(s)
    assert {f[(x, "post")].reasons for x in friends[:5]} == {("solicited_in_network_burst",)}
    assert f[("stranger", "post")].outcome == "counted"


def test_a_lone_connection_or_connections_voting_days_apart_stay_counted() -> None:
    s = Stream()
    friends = _author_with_friends(s, 8)
    s.post("post", "author")
    for f in friends[:5]:
        s.at(DAY).vote(f, "post", "author")
    s.post("other", "author")
    s.at(MIN).vote(friends[6], "other", "author")
    assert {d.outcome for d in _final(s).values()} == {"counted"}


def test_a_popular_authors_usual_in_network_response_is_not_a_burst() -> None:
    """MIDAS-style: the bar is the author's own history. Posts that always draw six friends within the
    hour set the expectation; the same again is normal, three times as many is not."""
    s = Stream()
    friends = _author_with_friends(s, 30)
    for week in range(6):
        s.at(7 * DAY).post(f"post{week}", "author")
        for f in friends[week : week + 3]:
            s.at(5 * MIN).vote(f, f"post{week}", "author")
    s.at(7 * DAY).post("usual", "author")
    for f in friends[10:13]:
        s.at(5 * MIN).vote(f, "usual", "author")
    s.at(7 * DAY).post("blitz", "author")
    for f in friends[:14]:
        s.at(2 * MIN).vote(f, "blitz", "author")
    f = _final(s)
    assert {f[(x, "usual")].outcome for x in friends[10:13]} == {"counted"}
    assert {f[(x, "blitz")].outcome for x in friends[:14]} == {"not_counted"}


def test_friends_joining_a_post_that_strangers_vote_up_by_the_hundred_are_not_a_burst() -> None:
    s = Stream()
    friends = _author_with_friends(s, 8)
    s.post("viral", "author")
    for i in range(120):
        s.at(20.0).vote(f"stranger{i}", "viral", "author")
        if i % 20 == 10:
            s.vote(friends[i // 20], "viral", "author")
    f = _final(s)
    assert {f[(x, "viral")].outcome for x in friends[:6]} == {"counted"}


def test_members_connected_minutes_before_voting_are_named_in_the_burst() -> None:
    s = Stream()
    s.post("post", "author")
    for m in ("new1", "new2"):
        s.at(2 * MIN).connect("author", m, "invitation")
        s.at(5 * MIN).vote(m, "post", "author")
    f = _final(s)
    assert f[("new1", "post")].reasons == ("solicited_in_network_burst", "recently_connected")
    assert f[("new2", "post")].outcome == "not_counted"


def test_votes_right_after_an_introduction_are_named() -> None:
    s = Stream()
    s.post("post", "author")
    for m in ("x", "y"):
        s.at(3 * HOUR).connect("author", m, "introduction")
    for m in ("x", "y"):
        s.at(HOUR).vote(m, "post", "author")
    assert _outcome(s, "x", "post") == ("not_counted", ("solicited_in_network_burst", "after_introduction"))


def test_a_lone_fresh_connection_voting_stays_counted() -> None:
    s = Stream()
    s.post("post", "author")
    s.at(MIN).connect("author", "newfriend", "suggestion")
    s.at(5 * MIN).vote("newfriend", "post", "author")
    assert _outcome(s, "newfriend", "post") == ("counted", ())


# -- solicited by message -----------------------------------------------------------------------------


def test_recipients_of_the_authors_own_link_who_vote_soon_after_are_not_counted() -> None:
    s = Stream()
    s.post("post", "author")
    s.at(MIN).solicit("author", ("r1", "r2"), "post")
    s.at(20 * MIN).vote("r1", "post", "author")
    s.at(2 * DAY).vote("r2", "post", "author")  # long after: the link is not why
    assert _outcome(s, "r1", "post") == ("not_counted", ("solicited_message",))
    assert _outcome(s, "r2", "post") == ("counted", ())


def test_a_friend_sharing_a_link_is_normal_but_a_forwarded_brigade_is_not() -> None:
    s = Stream()
    s.post("shared", "author")
    s.post("brigade", "author")
    s.at(MIN).solicit("pal", ("r1",), "shared")
    s.at(MIN).solicit("pal", ("b1", "b2", "b3", "b4"), "brigade")
    s.at(10 * MIN).vote("r1", "shared", "author")
    for r in ("b1", "b2", "b3"):
        s.at(5 * MIN).vote(r, "brigade", "author")
    f = _final(s)
    assert f[("r1", "shared")].outcome == "counted"
    assert {f[(r, "brigade")].reasons for r in ("b1", "b2", "b3")} == {("solicited_message",)}


# -- rings --------------------------------------------------------------------------------------------


def test_a_group_voting_together_again_and_again_is_a_lockstep_ring() -> None:
    s = Stream()
    ring = [f"r{i}" for i in range(5)]
    for k in range(5):
        s.at(6 * HOUR).post(f"boost{k}", "customer")
        s.vote(f"passerby{k}", f"boost{k}", "customer")
        for m in ring:
            s.at(3 * MIN).vote(m, f"boost{k}", "customer")
    f = _final(s)
    assert {f[(m, f"boost{k}")].reasons for m in ring for k in range(5)} == {("lockstep_ring",)}  # early targets by revision
    assert {f[(f"passerby{k}", f"boost{k}")].outcome for k in range(5)} == {"counted"}


def test_people_who_happen_to_vote_the_same_targets_with_different_company_are_not_a_ring() -> None:
    s = Stream()
    for k in range(12):  # each target draws a trio of the same 12 active members; no pair meets twice
        s.at(6 * HOUR).post(f"t{k}", "author")
        for m in (k, (k + 1) % 12, (k + 3) % 12):
            s.at(3 * MIN).vote(f"m{m}", f"t{k}", "author")
    assert {d.outcome for d in _final(s).values()} == {"counted"}


def test_voting_together_in_a_crowd_carries_no_signal() -> None:
    s = Stream()
    ring = [f"r{i}" for i in range(5)]
    for k in range(5):
        for i in range(70):  # a popular target: many votes already
            s.at(1.0).vote(f"crowd{k}-{i}", f"hot{k}", "author")
        for m in ring:
            s.at(MIN).vote(m, f"hot{k}", "author")
    f = _final(s)
    assert {f[(m, f"hot{k}")].outcome for m in ring for k in range(5)} == {"counted"}


def test_a_slow_drip_ring_spread_over_days_on_quiet_targets_is_found() -> None:
    s = Stream()
    ring = [f"r{i}" for i in range(5)]
    for k in range(6):
        s.at(2 * DAY).post(f"quiet{k}", ring[k % 5])
        for j, m in enumerate(ring):
            if m != ring[k % 5]:
                s.at((6 + 5 * j) * HOUR).vote(m, f"quiet{k}", ring[k % 5])
    f = _final(s)
    flagged = [d for d in f.values() if "lockstep_ring" in d.reasons]
    assert len(flagged) >= 0.9 * len(f)


def test_two_members_trading_votes_on_each_others_posts_are_a_reciprocal_ring() -> None:
    s = Stream()
    for k in range(3):
        s.at(DAY).post(f"ann{k}", "ann")
        s.post(f"bob{k}", "bob")
        s.at(HOUR).vote("bob", f"ann{k}", "ann")
        s.at(HOUR).vote("ann", f"bob{k}", "bob")
    f = _final(s)
    assert {d.reasons for d in f.values()} == {("reciprocal_ring",)}


def test_one_way_admiration_or_power_users_who_vote_everything_are_not_reciprocal() -> None:
    s = Stream()
    for k in range(4):  # cy votes dee's posts, dee never cy's
        s.at(DAY).post(f"dee{k}", "dee")
        s.at(HOUR).vote("cy", f"dee{k}", "dee")
    for k in range(3):  # ann and bob vote each other's posts, among the many others they vote on daily
        for i in range(8):
            s.at(MIN).vote("ann", f"other{k}-{i}", f"author{i}")
            s.at(MIN).vote("bob", f"else{k}-{i}", f"author{i}")
        s.at(DAY).post(f"ann{k}", "ann")
        s.post(f"bob{k}", "bob")
        s.at(HOUR).vote("bob", f"ann{k}", "ann")
        s.at(HOUR).vote("ann", f"bob{k}", "bob")
    assert {d.outcome for d in _final(s).values()} == {"counted"}
