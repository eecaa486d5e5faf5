"""Ranked feeds and search through the HTTP API: each formula against an independent computation, windows,
cursor pagination that stays stable while posts arrive, and refused cursors."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.content.conftest import apply_tally, new_post

# (name, age in hours, ups, downs)
POSTS = [
    ("fresh-small", 0.1, 3, 0),
    ("fresh-split", 0.5, 40, 38),
    ("hour-old-big", 3, 120, 20),
    ("day-old-huge", 20, 900, 100),
    ("two-days-huge", 50, 5000, 10),
    ("negative", 1, 2, 30),
    ("week-old-even", 24 * 6, 300, 290),
]


def reddit_hot(score: int, created: datetime) -> float:
    seconds = (created - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() - 1134028003
    return round(math.copysign(math.log10(max(abs(score), 1)), score) * (score != 0) + seconds / 45000, 7)


def wilson(ups: int, downs: int) -> float:
    n = ups + downs
    if not n:
        return 0.0
    z = 1.281551565545
    p = ups / n
    return (p + z * z / (2 * n) - z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n)) / (1 + z * z / n)


async def seeded_topic(content: Any, members: Any, pg: Any, sessions: Any, unique: str) -> dict[str, dict[str, Any]]:
    _, headers = members.new()
    posts: dict[str, dict[str, Any]] = {}
    for name, age, ups, downs in POSTS:
        post = await new_post(content, headers, title=name, topics=[unique])
        created = await age_post(pg, post["id"], age)
        await apply_tally(sessions, post["id"], "post", ups, downs)
        posts[name] = {"id": post["id"], "created": created, "ups": ups, "downs": downs, "score": ups - downs}
    return posts


async def age_post(pg: Any, post_id: str, hours: float) -> datetime:
    """Moves a post back in time (in posts and in its topics' feeds), before its tally is applied."""
    async with pg.acquire() as conn, conn.transaction():
        created = await conn.fetchval("UPDATE posts SET created_at = created_at - make_interval(secs => $2) WHERE id = $1 RETURNING created_at",
                                      uuid.UUID(post_id), hours * 3600)
        await conn.execute("UPDATE topic_posts SET created_at = $2 WHERE post_id = $1", uuid.UUID(post_id), created)
    return created


async def listing(content: Any, url: str) -> list[dict[str, Any]]:
    resp = await content.get(url)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def test_each_sort_matches_an_independent_computation(content: Any, members: Any, pg: Any, sessions: Any, unique: str) -> None:
    posts = await seeded_topic(content, members, pg, sessions, unique)
    base = f"/v1/topics/{unique}/posts?limit=100"

    def ranked(value: Any, names: Any = None) -> list[str]:
        chosen = list(names if names is not None else posts)
        return sorted(chosen, key=lambda n: (value(posts[n]), posts[n]["id"]), reverse=True)

    hot = await listing(content, f"{base}&sort=hot")
    assert [p["title"] for p in hot] == ranked(lambda p: reddit_hot(p["score"], p["created"]))
    for item in hot:
        p = posts[item["title"]]
        assert abs(item["ranks"]["hot"] - reddit_hot(p["score"], p["created"])) < 1e-6
        assert (item["ups"], item["downs"], item["score"]) == (p["ups"], p["downs"], p["score"])

    new = await listing(content, f"{base}&sort=new")
    assert [p["title"] for p in new] == ranked(lambda p: p["created"])

    best = await listing(content, f"{base}&sort=best")
    assert [p["title"] for p in best] == ranked(lambda p: wilson(p["ups"], p["downs"]))

    now = datetime.now(UTC)
    for window, span in (("hour", timedelta(hours=1)), ("day", timedelta(days=1)), ("week", timedelta(weeks=1)), ("all", None)):
        inside = [n for n in posts if span is None or posts[n]["created"] > now - span]
        top = await listing(content, f"{base}&sort=top&window={window}")
        assert [p["title"] for p in top] == ranked(lambda p: p["score"], inside), window
        controversial = await listing(content, f"{base}&sort=controversial&window={window}")
        assert [p["title"] for p in controversial] == ranked(
            lambda p: 0 if not (p["ups"] and p["downs"]) else (p["ups"] + p["downs"]) ** (min(p["ups"], p["downs"]) / max(p["ups"], p["downs"])), inside), window

    rising = await listing(content, f"{base}&sort=rising")
    last_day = [n for n in posts if posts[n]["created"] > now - timedelta(hours=24)]
    assert [p["title"] for p in rising] == ranked(lambda p: p["score"] / (((now - p["created"]).total_seconds() / 3600 + 2) ** 1.8), last_day)


async def test_trusted_score_ranks_when_voting_publishes_one(content: Any, members: Any, sessions: Any, unique: str) -> None:
    _, headers = members.new()
    raw = await new_post(content, headers, title="raw", topics=[unique])
    trusted = await new_post(content, headers, title="trusted", topics=[unique])
    await apply_tally(sessions, raw["id"], "post", 50, 0)
    await apply_tally(sessions, trusted["id"], "post", 10, 0, trusted_score=80)
    top = await listing(content, f"/v1/topics/{unique}/posts?sort=top&window=all")
    assert [(p["title"], p["score"], p["trusted_score"]) for p in top] == [("trusted", 10, 80), ("raw", 50, None)]
    await apply_tally(sessions, trusted["id"], "post", 12, 0, version=2)  # a later tally without a trusted score keeps it
    top = await listing(content, f"/v1/topics/{unique}/posts?sort=top&window=all")
    assert [(p["title"], p["score"], p["trusted_score"]) for p in top] == [("trusted", 12, 80), ("raw", 50, None)]


async def test_pages_stay_stable_while_new_posts_arrive(content: Any, members: Any, unique: str) -> None:
    _, headers = members.new()
    original = {(await new_post(content, headers, title=f"p{i}", topics=[unique]))["id"] for i in range(5)}
    for sort in ("new", "hot", "top", "rising"):
        url = f"/v1/topics/{unique}/posts?sort={sort}&window=all&limit=2"
        first = (await content.get(url)).json()
        seen = [p["id"] for p in first["items"]]
        cursor = first["next_cursor"]
        arrived = await new_post(content, headers, title=f"late-{sort}", topics=[unique])
        while cursor:
            page = (await content.get(f"{url}&cursor={cursor}")).json()
            seen += [p["id"] for p in page["items"]]
            cursor = page["next_cursor"]
        assert sorted(seen) == sorted(original) and arrived["id"] not in seen, sort  # each once, none new
        original |= {arrived["id"]}


async def test_bad_listing_parameters_are_4xx(content: Any, members: Any, unique: str) -> None:
    _, headers = members.new()
    for i in range(3):
        await new_post(content, headers, topics=[unique])
    page = (await content.get(f"/v1/topics/{unique}/posts?sort=top&window=week&limit=1")).json()
    other_window = await content.get(f"/v1/topics/{unique}/posts?sort=top&window=day&cursor={page['next_cursor']}")
    assert other_window.status_code == 400 and other_window.json()["error"] == "bad_cursor"
    other_feed = await content.get(f"/v1/feeds/all?sort=top&window=week&cursor={page['next_cursor']}")
    assert other_feed.status_code == 400
    assert (await content.get(f"/v1/feeds/all?cursor=garbage")).status_code == 400
    for url in ("/v1/feeds/all?sort=loud", "/v1/feeds/all?window=decade", "/v1/feeds/all?limit=0", "/v1/feeds/all?limit=101",
                "/v1/topics/C++/posts", f"/v1/topics/{'x' * 41}/posts", "/v1/search/posts", "/v1/search/posts?q=" + "x" * 201):
        resp = await content.get(url)
        assert resp.status_code == 422 and resp.json()["error"] == "invalid", url
    for url in ("/v1/feeds/network", "/v1/feeds/hot-connections"):
        assert (await content.get(url)).status_code == 401
    assert (await content.get(f"/v1/topics/%23{unique.upper()}/posts")).json()["items"]  # "#Topic" is the topic


async def test_all_feed_ranks_across_topics(content: Any, members: Any, sessions: Any, unique: str) -> None:
    _, headers = members.new()
    post = await new_post(content, headers, title=f"winner {unique}", topics=["anything"])
    await apply_tally(sessions, post["id"], "post", 1_000_000, 0)
    assert (await listing(content, "/v1/feeds/all?sort=top&window=hour&limit=1"))[0]["id"] == post["id"]
    assert (await listing(content, "/v1/feeds/all?sort=hot&limit=1"))[0]["id"] == post["id"]


async def test_search_ranks_title_matches_above_body_matches(content: Any, members: Any, unique: str) -> None:
    _, headers = members.new()
    word = f"zq{unique}"
    in_body = await new_post(content, headers, kind="article", title="Something else", body=f"a long text that mentions {word} once")
    in_title = await new_post(content, headers, kind="article", title=f"All about {word} gardening", body="plants")
    in_topic = await new_post(content, headers, title="Tagged", topics=[word])
    gone = await new_post(content, headers, title=f"{word} deleted")
    assert (await content.delete(f"/v1/posts/{gone['id']}", headers=headers)).status_code == 204
    found = await listing(content, f"/v1/search/posts?q={word}")
    assert [p["id"] for p in found] == [in_title["id"], in_topic["id"], in_body["id"]]
    assert [p["id"] for p in await listing(content, f"/v1/search/posts?q={word} gardening")] == [in_title["id"]]
    assert [p["id"] for p in await listing(content, f"/v1/search/posts?q={word} -gardening")] == [in_topic["id"], in_body["id"]]
    page = (await content.get(f"/v1/search/posts?q={word}&limit=2")).json()
    rest = (await content.get(f"/v1/search/posts?q={word}&limit=2&cursor={page['next_cursor']}")).json()
    assert [p["id"] for p in page["items"] + rest["items"]] == [p["id"] for p in found] and rest["next_cursor"] is None
    assert (await content.get("/v1/search/posts", params={"q": "a\x00b"})).status_code == 422
    for odd in ("&|!():*", "'\"", "or", "-"):
        assert (await content.get("/v1/search/posts", params={"q": odd})).status_code == 200, odd


async def test_tampered_cursors_are_400_never_500(content: Any, members: Any, unique: str) -> None:
    import base64

    import orjson

    _, headers = members.new()
    post = await new_post(content, headers, topics=[unique])
    await content.post(f"/v1/posts/{post['id']}/comments", json={"body": "x"}, headers=headers)

    def forge(listing: str, key: Any, last_id: Any = str(uuid.uuid4()), as_of: Any = "2026-01-01T00:00:00+00:00", **extra: Any) -> str:
        body = {"f": listing, "k": key, "i": last_id, "t": as_of, **({"x": extra} if extra else {})}
        return base64.urlsafe_b64encode(orjson.dumps(body)).decode()

    cases = [
        ("/v1/feeds/all?sort=top&window=day", forge("feed:all::top:day", 10**12)),
        ("/v1/feeds/all?sort=top&window=day", forge("feed:all::top:day", "ten")),
        ("/v1/feeds/all?sort=hot", forge("feed:all::hot:", {"a": 1})),
        ("/v1/feeds/all?sort=hot", forge("feed:all::hot:", 1.0, last_id="not-a-uuid")),
        ("/v1/feeds/all?sort=new", forge("feed:all::new:", "yesterday")),
        ("/v1/feeds/all?sort=new", forge("feed:all::new:", 5)),
        ("/v1/feeds/all?sort=rising", forge("feed:all::rising:", 1.5, as_of="soon")),
        ("/v1/search/posts?q=x", forge("search:x", [1])),
        (f"/v1/posts/{post['id']}/comments?sort=best", forge(f"comments:{post['id']}:best", 0.5, p="nope")),
        (f"/v1/posts/{post['id']}/comments?sort=new", forge(f"comments:{post['id']}:new", True)),
    ]
    for url, cursor in cases:
        resp = await content.get(f"{url}&cursor={cursor}")
        assert resp.status_code == 400 and resp.json()["error"] == "bad_cursor", (url, resp.text)
    # Well-formed but unusual values are just positions: an empty page or a full one, never an error.
    for url, cursor in [("/v1/feeds/all?sort=hot", forge("feed:all::hot:", 1e308)), ("/v1/search/posts?q=x", forge("search:x", 1e308)),
                        ("/v1/feeds/all?sort=new", forge("feed:all::new:", "2026-01-01T00:00:00", as_of="2026-01-01T00:00:00"))]:
        assert (await content.get(f"{url}&cursor={cursor}")).status_code == 200, url
    elsewhere = forge(f"comments:{post['id']}:best", None, "", p=str(uuid.uuid4()))
    assert (await content.get(f"/v1/posts/{post['id']}/comments?sort=best&cursor={elsewhere}")).status_code == 404


async def test_a_members_posts_newest_first_without_others_or_deleted_ones(content: Any, members: Any, unique: str) -> None:
    author, headers = members.new()
    _, other = members.new()
    first = await new_post(content, headers, title="first", topics=[unique])
    second = await new_post(content, headers, title="second", topics=[unique])
    gone = await new_post(content, headers, title="gone", topics=[unique])
    await new_post(content, other, title="someone else's", topics=[unique])
    assert (await content.delete(f"/v1/posts/{gone['id']}", headers=headers)).status_code == 204

    page = (await content.get(f"/v1/feeds/members/{author}?limit=1")).json()
    assert [p["id"] for p in page["items"]] == [second["id"]]
    rest = (await content.get(f"/v1/feeds/members/{author}?limit=1&cursor={page['next_cursor']}")).json()
    assert [p["id"] for p in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    assert (await content.get(f"/v1/feeds/members/{uuid.uuid4()}")).json() == {"items": [], "next_cursor": None}
    assert (await content.get(f"/v1/feeds/members/{author}?sort=hot")).status_code == 200
    assert (await content.get(f"/v1/feeds/members/{author}?cursor={page['next_cursor']}&sort=hot")).status_code == 400  # another listing's cursor
