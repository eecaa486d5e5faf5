"""The committed contracts match the code: docs/asyncapi.json (Kafka events) and docs/openapi.json (gateway).

When one fails, regenerate it and commit it with the change:
    python -m gateway.asyncapi > docs/asyncapi.json
    python -m gateway.openapi > docs/openapi.json
"""

from __future__ import annotations

from pathlib import Path

import orjson

from gateway import asyncapi, openapi
from services.catalog import TOPICS

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_the_committed_asyncapi_document_matches_the_code() -> None:
    committed = orjson.loads((DOCS / "asyncapi.json").read_bytes())
    assert committed == orjson.loads(asyncapi.render(asyncapi.document())), "docs/asyncapi.json drifted: run python -m gateway.asyncapi > docs/asyncapi.json"


def test_the_committed_openapi_document_matches_the_gateway() -> None:
    committed = orjson.loads((DOCS / "openapi.json").read_bytes())
    assert committed == orjson.loads(openapi.render(openapi.document())), "docs/openapi.json drifted: run python -m gateway.openapi > docs/openapi.json"


def test_the_asyncapi_document_covers_every_topic_and_published_event() -> None:
    doc = asyncapi.document()
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == {t.name for t in TOPICS}
    events = asyncapi.published()
    assert set(doc["components"]["messages"]) == {e.type for _, e in events} | {"deadletter"}
    for _, e in events:
        message = doc["components"]["messages"][e.type]
        ref = message["payload"]["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][ref]
        assert set(schema["properties"]) == set(e.data.model_fields), e.type
        assert e.type in doc["channels"][e.topic.name]["messages"]
    for op in doc["operations"].values():  # every reference resolves
        channel = op["channel"]["$ref"].rsplit("/", 1)[-1]
        for m in op["messages"]:
            assert m["$ref"].split("/")[-1] in doc["channels"][channel]["messages"]


async def test_the_gateway_serves_the_asyncapi_document(gateway: object) -> None:
    async def unused(request: object) -> object:
        raise AssertionError("no upstream call expected")

    async with gateway(unused) as client:  # type: ignore[operator]
        r = await client.get("/asyncapi.json")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json() == asyncapi.document()
        spec = (await client.get("/openapi.json")).json()
        assert {"/v1/streams/{channel}", "/asyncapi.json"} <= set(spec["paths"])
        assert {"400", "401", "404", "410"} <= set(spec["paths"]["/v1/streams/{channel}"]["get"]["responses"])
