"""Posts through the HTTP API on the real database: lifecycle, edits and history, soft delete, bad input, duplicate links."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.content.conftest import new_post, outbox_events


async def test_article_is_published_rendered_safely_and_announced(content: Any, members: Any, pg: Any) -> None:
    author, headers = members.new()
    post = await new_post(content, headers, kind="article", title="  Hello  ", topics=["#Python", "web-dev"],
                          body="# Title\n\n<script>alert(1)</script> **bold** [site](https://example.org)")
    assert post["title"] == "Hello" and post["topics"] == ["python", "web-dev"] and post["author_id"] == str(author)
    assert "<script" not in post["body_html"] and "&lt;script&gt;" in post["body_html"]
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer ugc">site</a>' in post["body_html"]
    got = (await content.get(f"/v1/posts/{post['id']}")).json()
    assert got == post
    [(etype, data)] = await outbox_events(pg, post["id"])
    assert etype == "post.created"
    assert data["post_id"] == post["id"] and data["author_id"] == str(author) and data["kind"] == "article" and data["topics"] == ["python", "web-dev"]


async def test_link_is_normalised_and_a_duplicate_within_the_window_points_to_the_first(content: Any, members: Any, pg: Any, unique: str) -> None:
    _, alice = members.new()
    bob_id, bob = members.new()
    first = await new_post(content, alice, kind="link", url=f"HTTP://WWW.{unique}.Example.com/story/?utm_source=feed&id=7#comments")
    assert first["url"] == f"http://www.{unique}.example.com/story/?id=7"

    again = await content.post("/v1/posts", headers=bob, json={"kind": "link", "title": "same", "topics": ["news"],
                                                                 "url": f"https://{unique}.example.com/story?id=7&fbclid=abc"})
    assert again.status_code == 409, again.text
    body = again.json()
    assert body["error"] == "duplicate_link" and body["detail"]["existing_post_id"] == first["id"]
    assert await pg.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", bob_id) == 0

    other = await new_post(content, bob, kind="link", url=f"https://{unique}.example.com/story?id=8")
    assert other["id"] != first["id"]

    # Outside the window (30 days by default) the same link may start a new discussion.
    await pg.execute("UPDATE posts SET created_at = created_at - interval '31 days' WHERE id = $1", uuid.UUID(first["id"]))
    later = await new_post(content, bob, kind="video", url=f"https://{unique}.example.com/story?id=7")
    assert later["url"] == f"https://{unique}.example.com/story?id=7"


async def test_simultaneous_submissions_of_one_link_make_one_post(content: Any, members: Any, pg: Any, unique: str) -> None:
    import asyncio

    submitters = [members.new() for _ in range(4)]
    url = f"https://race-{unique}.example.com/scoop"
    answers = await asyncio.gather(*(
        content.post("/v1/posts", headers=h, json={"kind": "link", "title": "scoop", "topics": ["news"], "url": url}) for _, h in submitters
    ))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    [winner] = [r.json()["id"] for r in answers if r.status_code == 201]
    assert {r.json()["detail"]["existing_post_id"] for r in answers if r.status_code == 409} == {winner}
    assert await pg.fetchval("SELECT count(*) FROM posts WHERE url = $1", url) == 1


BAD_POSTS = [
    ({"kind": "link", "url": "javascript:alert(1)"}, 422, "url"),
    ({"kind": "link", "url": "data:text/html;base64,PHNjcmlwdD4="}, 422, "url"),
    ({"kind": "link", "url": "ftp://example.com/file"}, 422, "url"),
    ({"kind": "link", "url": "https://user:secret@example.com/"}, 422, "url"),
    ({"kind": "link", "url": "https://example.com/" + "a" * 2100}, 422, "url"),
    ({"kind": "link"}, 422, "needs a url"),
    ({"kind": "article"}, 422, "needs a body"),
    ({"kind": "article", "body": "[click](javascript:alert(1))"}, 422, "body"),
    ({"kind": "question", "body": "![x](data:image/png;base64,AAAA)"}, 422, "body"),
    ({"kind": "article", "body": "x" * 40_001}, 422, "body"),
    ({"title": "x" * 301}, 422, "title"),
    ({"title": "   "}, 422, "title"),
    ({"topics": ["c++"]}, 422, "topics"),
    ({"topics": ["has space"]}, 422, "topics"),
    ({"topics": ["x" * 41]}, 422, "topics"),
    ({"topics": []}, 422, "topics"),
    ({"topics": ["a", "b", "c", "d", "e", "f"]}, 422, "topics"),
    ({"topics": ["Python", "#python"]}, 422, "repeat"),
    ({"kind": "poem"}, 422, "kind"),
    ({"score": 1000}, 422, "score"),
]


async def test_bad_posts_are_refused_with_a_clear_error_and_nothing_is_stored(content: Any, members: Any, pg: Any) -> None:
    author, headers = members.new()
    for overrides, status, mentions in BAD_POSTS:
        body = {"kind": "question", "title": "a title", "topics": ["general"], **overrides}
        resp = await content.post("/v1/posts", json=body, headers=headers)
        assert resp.status_code == status, (overrides, resp.text)
        err = resp.json()
        assert err["error"] == "invalid" and mentions in (err["message"] + str(err.get("detail"))), (overrides, err)
    for raw in (b'{"kind": "question", "title": "nul \\u0000 here", "topics": ["general"]}',
                b'{"kind": "question", "title": "lone \\ud800 surrogate", "topics": ["general"]}',
                b'{"kind": "article", "title": "t", "body": "nul \\u0000", "topics": ["general"]}'):
        odd = await content.post("/v1/posts", content=raw, headers={**headers, "content-type": "application/json"})
        assert odd.status_code in (400, 422), (raw, odd.text)
    malformed = await content.post("/v1/posts", content=b"{not json", headers={**headers, "content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"] == "malformed_json"
    anonymous = await content.post("/v1/posts", json={"kind": "question", "title": "t", "topics": ["general"]})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthenticated"
    assert await pg.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", author) == 0


async def test_author_edits_with_history_others_cannot(content: Any, members: Any, pg: Any) -> None:
    author, headers = members.new()
    _, other = members.new()
    post = await new_post(content, headers, kind="article", title="First", body="one", topics=["a"])
    url = f"/v1/posts/{post['id']}"

    refused = await content.patch(url, json={"title": "Hijacked"}, headers=other)
    assert refused.status_code == 403 and refused.json()["error"] == "not_author"
    assert (await content.patch(url, json={"url": "https://example.com"}, headers=headers)).status_code == 422
    assert (await content.patch(url, json={}, headers=headers)).status_code == 422
    assert (await content.patch(url, json={"body": "[x](javascript:alert(1))"}, headers=headers)).status_code == 422
    assert (await content.patch(url, json={"body": None}, headers=headers)).status_code == 422  # an article keeps a body

    edited = await content.patch(url, json={"title": "Second", "body": "**two**", "topics": ["a", "B"]}, headers=headers)
    assert edited.status_code == 200, edited.text
    e = edited.json()
    assert (e["title"], e["body"], e["topics"], e["revision"]) == ("Second", "**two**", ["a", "b"], 2)
    assert e["body_html"] == "<p><strong>two</strong></p>\n" and e["updated_at"] is not None
    same = await content.patch(url, json={"title": "Second"}, headers=headers)
    assert same.json()["revision"] == 2  # nothing changed: no new revision

    history = (await content.get(f"{url}/history")).json()["revisions"]
    assert [(r["revision"], r["title"], r["body"], r["topics"]) for r in history] == [(1, "First", "one", ["a"]), (2, "Second", "**two**", ["a", "b"])]
    assert history[1]["editor_id"] == str(author)
    types = [t for t, _ in await outbox_events(pg, post["id"])]
    assert types == ["post.created", "post.updated"]
    (_, updated), = [e for e in await outbox_events(pg, post["id"]) if e[0] == "post.updated"]
    assert updated["author_id"] == str(author) and updated["topics"] == ["a", "b"] and updated["updated_at"]


async def test_deleted_post_shows_as_deleted_keeps_comments_and_leaves_feeds(content: Any, members: Any, pg: Any, unique: str) -> None:
    author, headers = members.new()
    _, other = members.new()
    post = await new_post(content, headers, kind="article", title="Going away", body="soon", topics=[unique])
    url = f"/v1/posts/{post['id']}"
    comment = await content.post(f"{url}/comments", json={"body": "first!"}, headers=other)
    assert comment.status_code == 201

    assert (await content.delete(url, headers=other)).status_code == 403
    assert (await content.delete(url, headers=headers)).status_code == 204
    again = await content.delete(url, headers=headers)
    assert again.status_code == 410 and again.json()["error"] == "post_deleted"

    got = (await content.get(url)).json()
    assert got["deleted"] is True and got["deleted_at"] and got["title"] is None and got["body"] is None and got["comment_count"] == 1
    thread = (await content.get(f"{url}/comments")).json()
    assert [c["body"] for c in thread["comments"]] == ["first!"]
    assert (await content.get(f"/v1/topics/{unique}/posts?sort=new")).json()["items"] == []
    assert (await content.patch(url, json={"title": "back"}, headers=headers)).status_code == 410
    late = await content.post(f"{url}/comments", json={"body": "too late"}, headers=other)
    assert late.status_code == 410 and late.json()["error"] == "post_deleted"
    assert await pg.fetchval("SELECT count(*) FROM comments WHERE post_id = $1", uuid.UUID(post["id"])) == 1
    assert await pg.fetchval("SELECT comment_seq FROM posts WHERE id = $1", uuid.UUID(post["id"])) == 1
    events = await outbox_events(pg, post["id"])
    assert [t for t, _ in events] == ["post.created", "comment.created", "post.deleted"]
    assert events[-1][1]["author_id"] == str(author) and events[-1][1]["deleted_at"]


async def test_missing_post_is_404_in_the_common_shape(content: Any, members: Any) -> None:
    _, headers = members.new()
    missing = uuid.uuid4()
    for resp in (await content.get(f"/v1/posts/{missing}"), await content.patch(f"/v1/posts/{missing}", json={"title": "x"}, headers=headers),
                 await content.post(f"/v1/posts/{missing}/comments", json={"body": "x"}, headers=headers),
                 await content.post(f"/v1/posts/{missing}/shares", json={}, headers=headers)):
        assert resp.status_code == 404 and resp.json()["error"] == "post_not_found", resp.text
    assert (await content.get("/v1/posts/not-a-uuid")).status_code == 422


async def test_shares_are_counted_once_per_member_and_announced(content: Any, members: Any, pg: Any) -> None:
    author, headers = members.new()
    sharer, sharer_headers = members.new()
    post = await new_post(content, headers)
    url = f"/v1/posts/{post['id']}/shares"
    first = await content.post(url, json={"comment": "worth **reading**"}, headers=sharer_headers)
    assert first.status_code == 201, first.text
    share = first.json()
    assert share["share_count"] == 1 and share["comment_html"] == "<p>worth <strong>reading</strong></p>\n"
    assert (await content.post(url, json={}, headers=headers)).json()["share_count"] == 2
    dup = await content.post(url, json={}, headers=sharer_headers)
    assert dup.status_code == 409 and dup.json()["error"] == "already_shared"
    assert (await content.post(url, json={"comment": "x" * 1001}, headers=sharer_headers)).status_code == 422
    assert (await content.get(f"/v1/posts/{post['id']}")).json()["share_count"] == 2
    shared = [d for t, d in await outbox_events(pg, post["id"]) if t == "post.shared"]
    assert [(d["sharer_id"], d["share_id"]) for d in shared][0] == (str(sharer), share["id"]) and len(shared) == 2
    assert shared[0]["post_id"] == post["id"] and shared[0]["shared_at"]
    listed = (await content.get(f"/v1/posts/{post['id']}/shares?limit=1")).json()
    rest = (await content.get(f"/v1/posts/{post['id']}/shares?limit=1&cursor={listed['next_cursor']}")).json()
    assert listed["share_count"] == 2 and rest["next_cursor"] is None
    assert [(e["sharer_id"], e["comment"]) for e in listed["items"] + rest["items"]] == [(str(author), None), (str(sharer), "worth **reading**")]


async def test_topic_feeds_follow_edits_and_deletes(content: Any, members: Any, unique: str) -> None:
    _, headers = members.new()
    post = await new_post(content, headers, topics=[f"{unique}-old"])

    async def in_topic(topic: str) -> list[str]:
        return [p["id"] for p in (await content.get(f"/v1/topics/{topic}/posts?sort=new")).json()["items"]]

    assert await in_topic(f"{unique}-old") == [post["id"]]
    await content.patch(f"/v1/posts/{post['id']}", json={"topics": [f"{unique}-new", f"{unique}-other"]}, headers=headers)
    assert (await in_topic(f"{unique}-old"), await in_topic(f"{unique}-new"), await in_topic(f"{unique}-other")) == ([], [post["id"]], [post["id"]])
    await content.delete(f"/v1/posts/{post['id']}", headers=headers)
    assert await in_topic(f"{unique}-new") == []
