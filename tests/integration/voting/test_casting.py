"""The vote intake's one statement (repository.Casting) writes exactly the vote.cast outbox rows that
kit.outbox writes for the same event — columns, CloudEvent headers and payload bytes — with the target's
kind and author filled in by the database; a refused vote or batch writes none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from services.kit.events import CloudEvent
from services.voting import events, service
from services.voting.repository import Casting, CastRequest
from tests.integration.voting.conftest import Voting


def _as_kit_writes(row: Any) -> tuple[list[list[str]], bytes]:
    """The headers and payload kit.outbox builds for the event the row carries (same id, time, trace)."""
    headers = dict(orjson.loads(row["headers"]))
    data = events.VoteCast.model_validate(orjson.loads(row["payload"]))
    event = CloudEvent(id=headers["ce_id"], source="agora/voting", type=events.VOTE_CAST.type, time=datetime.fromisoformat(headers["ce_time"]),
                       data=data.model_dump(mode="json"), subject=headers.get("ce_subject"), traceparent=headers.get("ce_traceparent"))
    return [[k, v.decode()] for k, v in event.headers()], event.value()


async def test_accepted_votes_are_the_rows_kit_outbox_writes(voting: Voting, app_client: Any, issuer: Any) -> None:
    post, comment, author, voter = (uuid.uuid4() for _ in range(4))
    conn = await voting.connect()
    try:
        await conn.executemany("INSERT INTO voting.targets (target_id, kind, author_id, created_at) VALUES ($1, $2, $3, now())",
                               [(post, "post", author), (comment, "comment", author)])
        http = await app_client("voting")
        headers = {**issuer.headers(voter), "x-agora-client-origin": 'o"r\\igin', "x-agora-client-device": "dev/ice"}
        r = await http.post("/v1/votes", json={"target_id": str(post), "value": -1}, headers=headers)
        assert r.status_code == 202 and r.json()["status"] == "accepted", r.text
        one = r.json()["vote_id"]
        r = await http.post("/v1/votes/batch", json={"votes": [{"target_id": str(comment), "value": 1}, {"target_id": str(post), "value": 0}]},
                            headers=issuer.headers(voter))
        assert r.status_code == 202, r.text
        many = r.json()["vote_ids"]

        rows = await conn.fetch("SELECT * FROM voting.outbox WHERE key = ANY($1::text[]) ORDER BY seq", [str(post), str(comment)])
        assert [orjson.loads(x["payload"])["vote_id"] for x in rows] == [one, *many]  # in request order
        for row, target, kind, value in zip(rows, [post, comment, post], ["post", "comment", "post"], [-1, 1, 0], strict=True):
            assert (row["topic"], row["key"], row["type"], row["published_at"]) == ("agora.votes", str(target), "vote.cast", None)
            data = orjson.loads(row["payload"])
            assert (data["voter_id"], data["target_id"], data["target_kind"], data["author_id"], data["value"]) == (
                str(voter), str(target), kind, str(author), value)
            assert orjson.loads(row["headers"]) == _as_kit_writes(row)[0]
            assert row["payload"] == _as_kit_writes(row)[1]  # byte for byte
            assert str(row["id"]) == dict(orjson.loads(row["headers"]))["ce_id"]
        first = orjson.loads(rows[0]["payload"])
        assert (first["origin"], first["device"]) == ('o"r\\igin', "dev/ice")
        assert datetime.fromisoformat(first["cast_at"]) <= datetime.now(UTC)

        # Refused: nothing written, whatever the mix of reasons.
        gone = uuid.uuid4()
        await conn.execute("INSERT INTO voting.deleted_members (member_id, deleted_at) VALUES ($1, now())", gone)
        before = await conn.fetchval("SELECT count(*) FROM voting.outbox")
        unknown = uuid.uuid4()
        r = await http.post("/v1/votes", json={"target_id": str(unknown), "value": 1}, headers=issuer.headers(voter))
        assert r.status_code == 404 and r.json()["error"] == "target_not_found"
        r = await http.post("/v1/votes", json={"target_id": str(unknown), "value": 1}, headers=issuer.headers(gone))
        assert r.status_code == 403 and r.json()["error"] == "member_deleted"
        r = await http.post("/v1/votes/batch", json={"votes": [{"target_id": str(post), "value": 1}, {"target_id": str(unknown), "value": 1},
                                                              {"target_id": str(unknown), "value": -1}]}, headers=issuer.headers(voter))
        assert r.status_code == 404 and r.json()["error"] == "target_not_found"
        assert r.json()["message"] == "2 target(s) not found; no vote was accepted" and r.json()["detail"] == [{"target_id": str(unknown)}]
        r = await http.post("/v1/votes/batch", json={"votes": [{"target_id": str(post), "value": 1}]}, headers=issuer.headers(gone))
        assert r.status_code == 403 and r.json()["error"] == "member_deleted"
        r = await http.post("/v1/votes", json={"target_id": str(post), "value": 2}, headers=issuer.headers(voter))
        assert r.status_code == 422
        assert await conn.fetchval("SELECT count(*) FROM voting.outbox") == before
    finally:
        await conn.close()


async def test_requests_grouped_in_one_statement_are_accepted_or_refused_each_on_its_own(voting: Voting) -> None:
    post, author, voter, gone = (uuid.uuid4() for _ in range(4))
    unknown = uuid.uuid4()
    conn = await voting.connect()
    try:
        await conn.execute("INSERT INTO voting.targets (target_id, kind, author_id, created_at) VALUES ($1, 'post', $2, now())", post, author)
        await conn.execute("INSERT INTO voting.deleted_members (member_id, deleted_at) VALUES ($1, now())", gone)
        now = datetime.now(UTC)

        def rows(who: uuid.UUID, *targets: uuid.UUID) -> CastRequest:
            return CastRequest(who, [service._vote_row(who, t, 1, now, None, None)[1] for t in targets])

        requests = [rows(voter, post), rows(voter, post, unknown, unknown), rows(gone, post), rows(voter, post, post)]
        results = await Casting(conn).cast("agora.votes", "vote.cast", requests)
        assert results == [(False, []), (False, [unknown, unknown]), (True, []), (False, [])]
        written = await conn.fetch("SELECT id FROM voting.outbox WHERE key = $1 ORDER BY seq", str(post))
        assert [str(r["id"]) for r in written] == [row.id for n in (0, 3) for row in requests[n].rows]
    finally:
        await conn.close()
