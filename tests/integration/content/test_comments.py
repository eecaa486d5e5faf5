"""Comment trees through the HTTP API: replies at any depth, sorts, depth limits and "more replies" cursors, deletes."""

from __future__ import annotations

import math
import uuid
from typing import Any

from tests.integration.content.conftest import apply_tally, new_post, outbox_events


async def comment(client: Any, headers: dict[str, str], post_id: str, body: str, parent: str | None = None) -> dict[str, Any]:
    resp = await client.post(f"/v1/posts/{post_id}/comments", json={"body": body, "parent_id": parent}, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_replies_nest_and_are_announced_bad_parents_are_refused(content: Any, members: Any, pg: Any) -> None:
    author, headers = members.new()
    post = await new_post(content, headers)
    pid = post["id"]
    top = await comment(content, headers, pid, "top <b>html</b> stays text")
    assert top["depth"] == 0 and top["parent_id"] is None and "&lt;b&gt;" in top["body_html"]
    reply = await comment(content, headers, pid, "reply", top["id"])
    deeper = await comment(content, headers, pid, "deeper", reply["id"])
    assert (reply["depth"], deeper["depth"], deeper["parent_id"]) == (1, 2, reply["id"])

    other_post = await new_post(content, headers)
    missing = await content.post(f"/v1/posts/{pid}/comments", json={"body": "x", "parent_id": str(uuid.uuid4())}, headers=headers)
    assert missing.status_code == 404 and missing.json()["error"] == "parent_not_found"
    elsewhere = await content.post(f"/v1/posts/{other_post['id']}/comments", json={"body": "x", "parent_id": top["id"]}, headers=headers)
    assert elsewhere.status_code == 422 and elsewhere.json()["error"] == "parent_elsewhere"
    for bad in ({"body": ""}, {"body": "x" * 10_001}, {"body": "[x](javascript:alert(1))"}, {"body": "x", "extra": 1}, {"body": "a\x00b"},
                {"body": "x", "parent_id": "not-a-uuid"}):
        assert (await content.post(f"/v1/posts/{pid}/comments", json=bad, headers=headers)).status_code == 422, bad
    assert (await content.post(f"/v1/posts/{pid}/comments", json={"body": "x"})).status_code == 401
    assert await pg.fetchval("SELECT count(*) FROM comments WHERE post_id = ANY($1::uuid[])", [uuid.UUID(pid), uuid.UUID(other_post["id"])]) == 3
    assert (await content.get(f"/v1/posts/{pid}")).json()["comment_count"] == 3

    created = [d for t, d in await outbox_events(pg, pid) if t == "comment.created"]
    assert [(d["comment_id"], d["parent_id"]) for d in created] == [(top["id"], None), (reply["id"], top["id"]), (deeper["id"], reply["id"])]
    assert all(d["author_id"] == str(author) and d["post_id"] == pid and d["created_at"] for d in created)


async def test_sorts_order_siblings_by_their_formula(content: Any, members: Any, sessions: Any) -> None:
    _, headers = members.new()
    post = await new_post(content, headers)
    votes = {"a": (10, 0), "b": (60, 40), "c": (3, 3), "d": (1, 0), "e": (0, 5), "f": (30, 28)}
    ids = {}
    for name, (ups, downs) in votes.items():
        c = await comment(content, headers, post["id"], name)
        ids[name] = c["id"]
        await apply_tally(sessions, c["id"], "comment", ups, downs)

    def wilson(ups: int, downs: int) -> float:  # Evan Miller's formula, written out independently
        n = ups + downs
        if n == 0:
            return 0
        z = 1.281551565545
        p = ups / n
        return (p + z * z / (2 * n) - z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n)) / (1 + z * z / n)

    def controversy(ups: int, downs: int) -> float:
        return 0 if ups <= 0 or downs <= 0 else (ups + downs) ** (min(ups, downs) / max(ups, downs))

    def ranked(value: Any) -> list[str]:  # highest first; ties broken by id, highest first, as the API does
        return sorted(votes, key=lambda n: (value(*votes[n]), ids[n]), reverse=True)

    expected = {
        "best": ranked(wilson),
        "top": ranked(lambda ups, downs: ups - downs),
        "controversial": ranked(controversy),
        "new": list(reversed(votes)),
        "old": list(votes),
    }
    assert expected["best"][0] == "a" and expected["controversial"][0] == "f" and expected["top"][:2] == ["b", "a"]
    for sort, names in expected.items():
        got = (await content.get(f"/v1/posts/{post['id']}/comments?sort={sort}")).json()
        assert [c["body"] for c in got["comments"]] == names, sort
        if sort == "best":
            assert [c["ranks"]["best"] for c in got["comments"]] == [wilson(*votes[n]) for n in names]
    assert (await content.get(f"/v1/posts/{post['id']}/comments?sort=hot")).status_code == 422


async def test_depth_limit_and_more_cursors_reach_every_reply_once(content: Any, members: Any) -> None:
    _, headers = members.new()
    post = await new_post(content, headers)
    pid = post["id"]
    root = await comment(content, headers, pid, "root")
    children = [await comment(content, headers, pid, f"child {i}", root["id"]) for i in range(7)]
    chain = [children[0]]
    for i in range(4):  # child 0 -> g0 -> g1 -> g2 -> g3
        chain.append(await comment(content, headers, pid, f"g{i}", chain[-1]["id"]))
    for i in range(2):
        await comment(content, headers, pid, f"top {i}")

    page = (await content.get(f"/v1/posts/{pid}/comments?sort=old&depth=3&replies=3&limit=2")).json()
    assert [c["body"] for c in page["comments"]] == ["root", "top 0"]
    r = page["comments"][0]
    assert [c["body"] for c in r["replies"]] == ["child 0", "child 1", "child 2"]
    assert r["more"]["count"] == 4
    c0 = r["replies"][0]
    assert [c["body"] for c in c0["replies"]] == ["g0"] and c0["replies"][0]["replies"] == []
    assert c0["replies"][0]["more"] == {"count": 1, "cursor": c0["replies"][0]["more"]["cursor"]}  # depth cut: g1 behind a cursor

    # The rest of the first level.
    rest = (await content.get(f"/v1/posts/{pid}/comments?sort=old&depth=3&replies=3&limit=2&cursor={page['next_cursor']}")).json()
    assert [c["body"] for c in rest["comments"]] == ["top 1"] and rest["next_cursor"] is None

    # The root's further replies, page by page.
    seen = [c["body"] for c in r["replies"]]
    cursor = r["more"]["cursor"]
    while cursor:
        more = (await content.get(f"/v1/posts/{pid}/comments?sort=old&depth=1&limit=2&cursor={cursor}")).json()
        assert more["parent_id"] == root["id"]
        seen += [c["body"] for c in more["comments"]]
        cursor = more["next_cursor"]
    assert seen == [f"child {i}" for i in range(7)]

    # Down the chain past the depth cut.
    deep = (await content.get(f"/v1/posts/{pid}/comments?sort=old&depth=5&cursor={c0['replies'][0]['more']['cursor']}")).json()
    assert deep["parent_id"] == chain[1]["id"]
    assert [deep["comments"][0]["body"], deep["comments"][0]["replies"][0]["body"], deep["comments"][0]["replies"][0]["replies"][0]["body"]] == ["g1", "g2", "g3"]

    # A cursor is bound to its sort.
    wrong = await content.get(f"/v1/posts/{pid}/comments?sort=new&cursor={cursor or r['more']['cursor']}")
    assert wrong.status_code == 400 and wrong.json()["error"] == "bad_cursor"
    assert (await content.get(f"/v1/posts/{pid}/comments?depth=11")).status_code == 422


async def test_deleted_comment_keeps_its_place_and_its_replies(content: Any, members: Any, pg: Any) -> None:
    author, headers = members.new()
    _, other = members.new()
    post = await new_post(content, headers)
    top = await comment(content, headers, post["id"], "to be deleted")
    await comment(content, other, post["id"], "a reply", top["id"])
    assert (await content.delete(f"/v1/comments/{top['id']}", headers=other)).status_code == 403
    assert (await content.delete(f"/v1/comments/{top['id']}", headers=headers)).status_code == 204
    assert (await content.delete(f"/v1/comments/{top['id']}", headers=headers)).status_code == 410
    assert (await content.delete(f"/v1/comments/{uuid.uuid4()}", headers=headers)).status_code == 404
    thread = (await content.get(f"/v1/posts/{post['id']}/comments")).json()
    [t] = thread["comments"]
    assert t["deleted"] is True and t["body"] is None and t["body_html"] is None and t["author_id"] is None
    assert t["replies"][0]["body"] == "a reply"
    refused = await content.post(f"/v1/posts/{post['id']}/comments", json={"body": "x", "parent_id": top["id"]}, headers=other)
    assert refused.status_code == 410 and refused.json()["error"] == "parent_deleted"
    assert (await content.get(f"/v1/posts/{post['id']}")).json()["comment_count"] == 1
    [deleted] = [d for t, d in await outbox_events(pg, post["id"]) if t == "comment.deleted"]
    assert deleted == {"comment_id": top["id"], "post_id": post["id"], "author_id": str(author), "deleted_at": deleted["deleted_at"]}


async def test_replies_to_me_are_the_comments_of_others_on_my_posts_and_under_my_comments(content: Any, members: Any) -> None:
    (_, mine), (_, bob), (_, cat) = members.new(), members.new(), members.new()
    post = await new_post(content, mine)
    others_post = await new_post(content, bob)
    on_my_post = await comment(content, bob, post["id"], "nice post")
    await comment(content, mine, post["id"], "my own comment on my post")  # mine: not a reply to me
    my_comment = await comment(content, mine, others_post["id"], "my comment elsewhere")
    under_mine = await comment(content, cat, others_post["id"], "answering you", parent=my_comment["id"])
    await comment(content, cat, others_post["id"], "not about me")  # top level on bob's post: bob's reply
    deleted = await comment(content, cat, post["id"], "soon gone")
    assert (await content.delete(f"/v1/comments/{deleted['id']}", headers=cat)).status_code == 204

    r = await content.get("/v1/comments/replies", params={"limit": 1}, headers=mine)
    assert r.status_code == 200, r.text
    first = r.json()
    r = await content.get("/v1/comments/replies", params={"limit": 1, "cursor": first["next_cursor"]}, headers=mine)
    second = r.json()
    assert [c["id"] for c in first["items"] + second["items"]] == [under_mine["id"], on_my_post["id"]]  # newest first
    assert second["next_cursor"] is None
    assert (await content.get("/v1/comments/replies")).status_code == 401
    assert (await content.get("/v1/comments/replies", params={"cursor": "x"}, headers=mine)).status_code == 400
