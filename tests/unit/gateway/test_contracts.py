"""The committed contracts match the code: docs/asyncapi.json (Kafka events) and docs/openapi.json (gateway).

When one fails, regenerate it and commit it with the change:
    python -m gateway.asyncapi > docs/asyncapi.json
    python -m gateway.openapi > docs/openapi.json
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway import asyncapi, openapi
from gateway.proxy import ROUTES
from gateway.ratelimits import limit_for
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
        assert spec == openapi.document()  # the served document is the committed one, forwarded operations included
        docs = await client.get("/docs")
        assert docs.status_code == 200 and "/openapi.json" in docs.text


def _operations(paths: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in paths.items() for method in item if method in openapi.METHODS}


def test_the_openapi_document_has_every_operation_the_gateway_forwards() -> None:
    doc = openapi.document()
    ours = _operations(doc["paths"])
    for service in openapi.SERVICES:
        own = openapi.service_document(service)["paths"]
        forwarded = {(m, p) for m, p in _operations(own) if p.startswith("/v1/") and ROUTES[p.split("/")[2]] == service}
        assert forwarded, service
        assert forwarded <= ours, f"{service}: {sorted(forwarded - ours)} missing"
        for method, path in forwarded:
            op = doc["paths"][path][method]
            assert {"401", "502", "504"} <= set(op["responses"]), (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= set(op["responses"]), (method, path)
            if "{" in path:  # /v1/topics/a%2Fb/posts names no route upstream
                assert "404" in op["responses"], (method, path)
            if limit_for(method, path.split("/")[2]) is not None:
                assert "429" in op["responses"] and "Retry-After" in op["responses"]["429"]["headers"], (method, path)
    # services' probes and internal endpoints are not part of the client API
    assert not any(p.startswith("/.well-known") for _, p in ours)
    assert doc["paths"]["/v1/posts"]["post"]["security"] == [{"bearerAuth": []}]
    assert "security" not in doc["paths"]["/v1/posts/{post_id}"]["get"]


def test_every_error_is_documented_in_the_one_error_shape_and_every_reference_resolves() -> None:
    doc = openapi.document()
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # the kit renders validation errors as ErrorBody, not FastAPI's shape
    for method, path in _operations(doc["paths"]):
        for status, response in doc["paths"][path][method]["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', orjson.dumps(doc).decode()))
    assert refs <= set(schemas) and set(schemas) <= refs | {"ErrorBody"}


def test_schemas_two_services_name_alike_are_shared_when_equal_and_renamed_when_not() -> None:
    def service(read: dict[str, Any], path: str) -> dict[str, Any]:
        ref = {"$ref": "#/components/schemas/Page"}
        return {"paths": {path: {"get": {"operationId": path, "responses": {"200": {"content": {"application/json": {"schema": ref}}}}}}},
                "components": {"schemas": {"Page": {"type": "object", "properties": {"items": {"$ref": "#/components/schemas/Read"}}},
                                           "Read": read, "ErrorBody": {"type": "object"}}}}

    merged = openapi.merge({"paths": {}}, {"connections": service({"type": "string"}, "/v1/connections"),
                                           "content": service({"type": "integer"}, "/v1/posts")})
    schemas = merged["components"]["schemas"]
    assert schemas["Read"] == {"type": "string"} and schemas["ContentRead"] == {"type": "integer"}
    # Page refers to a renamed schema, so content's Page is renamed too, and its references follow.
    assert schemas["ContentPage"]["properties"]["items"] == {"$ref": "#/components/schemas/ContentRead"}
    post = merged["paths"]["/v1/posts"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert post == {"$ref": "#/components/schemas/ContentPage"}
    assert merged["paths"]["/v1/connections"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Page"}


def test_a_changed_service_operation_makes_the_committed_document_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    real = openapi.service_document

    def changed(name: str) -> dict[str, Any]:
        doc = copy.deepcopy(real(name))
        if name == "content":
            doc["paths"]["/v1/posts"]["post"]["responses"]["418"] = {"description": "new"}
        return doc

    monkeypatch.setattr(openapi, "service_document", changed)
    committed = orjson.loads((DOCS / "openapi.json").read_bytes())
    assert committed != orjson.loads(openapi.render(openapi.document()))
