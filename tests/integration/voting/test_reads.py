"""Voting's batch reads for the gateway's views: several tallies, the caller's votes, and how many of the
caller's connections vote on each target (a count from 3 up, never who)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.integration.voting.conftest import Voting


async def _setup(voting: Voting) -> dict[str, Any]:
    me, author = uuid.uuid4(), uuid.uuid4()
    friends = [uuid.uuid4() for _ in range(4)]
    stranger, gone_friend = uuid.uuid4(), uuid.uuid4()
    hot, quiet, unvoted = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn = await voting.connect()
    try:
        for t in (hot, quiet, unvoted):
            await conn.execute("INSERT INTO voting.targets (target_id, kind, author_id, created_at) VALUES ($1, 'post', $2, now())", t, author)
        votes = [(hot, f, 1) for f in friends[:3]] + [(hot, stranger, 1), (hot, gone_friend, -1), (hot, me, -1), (quiet, friends[3], 1),
                                                      (quiet, friends[0], 0)]
        for t, v, value in votes:
            await conn.execute("INSERT INTO voting.ballots (target_id, voter_id, value, vote_id, cast_at) VALUES ($1, $2, $3, $4, now())",
                               t, v, value, uuid.uuid4())
        await conn.execute("INSERT INTO voting.tallies (target_id, ups, downs, version, trusted_score) VALUES ($1, 4, 2, 7, 1.5)", hot)
        for f in [*friends, gone_friend]:
            key = f"{min(me, f)}|{max(me, f)}"
            await conn.execute("INSERT INTO voting.context_log (kind, key, data) VALUES ('connection', $1, $2::jsonb)", key,
                               json.dumps({"a": str(me), "b": str(f), "at": 1.0}))
        key = f"{min(me, gone_friend)}|{max(me, gone_friend)}"  # ... and that connection was removed since
        await conn.execute("INSERT INTO voting.context_log (kind, key, data) VALUES ('connection', $1, $2::jsonb)", key,
                           json.dumps({"a": str(me), "b": str(gone_friend), "at": 2.0, "removed": True}))
    finally:
        await conn.close()
    return {"me": me, "hot": hot, "quiet": quiet, "unvoted": unvoted}


async def test_batch_reads(voting: Voting, app_client: Any, issuer: Any) -> None:
    s = await _setup(voting)
    http = await app_client("voting")
    unknown = uuid.uuid4()
    ids = [str(s["hot"]), str(unknown), str(s["unvoted"])]

    r = await http.get("/v1/tallies", params={"target_id": ids})
    assert r.status_code == 200, r.text
    assert [(t["target_id"], t["score"], t["trusted_score"], t["version"]) for t in r.json()["items"]] == [
        (str(s["hot"]), 2, 1.5, 7), (str(s["unvoted"]), 0, 0.0, 0)]

    me = issuer.headers(s["me"])
    r = await http.get("/v1/votes/mine/batch", params={"target_id": ids}, headers=me)
    assert [(v["target_id"], v["value"]) for v in r.json()["items"]] == [(str(s["hot"]), -1), (str(s["unvoted"]), 0)]
    assert (await http.get("/v1/votes/mine/batch", params={"target_id": ids})).status_code == 401

    r = await http.get("/v1/tallies/network", params={"target_id": [str(s["hot"]), str(s["quiet"])]}, headers=me)
    assert r.status_code == 200, r.text
    # hot: 3 connections voted (the stranger, the removed connection and the caller do not count); quiet: one
    # connection voted and another cleared — fewer than 3, so not told.
    assert r.json()["items"] == [{"target_id": str(s["hot"]), "connections_voted": 3}, {"target_id": str(s["quiet"]), "connections_voted": None}]

    assert (await http.get("/v1/tallies", params={"target_id": [str(uuid.uuid4())] * 101})).status_code == 422
    assert (await http.get("/v1/tallies")).status_code == 422
    assert (await http.get("/v1/tallies", params={"target_id": "nope"})).status_code == 422
