"""The gateway's OpenAPI document: the gateway's own routes plus every operation it forwards, as one API.

    python -m gateway.openapi > docs/openapi.json

The proxy (`gateway/proxy.py`) is a catch-all and has no schema of its own, so the forwarded operations
come from the services themselves: each service's app is built in-process (`create_app(settings)`
creates nothing until its lifespan runs, so nothing connects) and its `openapi()` read. Kept: the
`/v1/...` operations whose resource `proxy.ROUTES` sends to that service (not /healthz, /readyz,
/.well-known/...); a path the gateway serves itself wins over a forwarded one. Each forwarded operation
then gets what the gateway adds in front of it: 401 (a presented token is verified at the gateway), 429
where `gateway.ratelimits` limits the write, 502/504 (upstream unreachable, circuit open, deadline),
400 `malformed_json` / 413 on operations with a body, and 404 on operations with path parameters (a
value holding an encoded '/' names no route upstream); 422s are documented in the one error shape the
kit renders (`ErrorBody`), not FastAPI's default `HTTPValidationError`. Component schemas are merged by
name: identical ones are shared, a name two services use differently is prefixed with the service
(`ContentThing`), and references are rewritten to match. Operations that need a token say so with the
`bearerAuth` security scheme (optional where the route accepts anonymous readers).

The document is built once per process (`install()` caches it; the gateway warms it at start-up) and
served at /openapi.json and /docs. The drift test in tests/unit/gateway/test_contracts.py compares it
with the committed docs/openapi.json, so a changed service operation fails the build until regenerated.
"""

from __future__ import annotations

import copy
import functools
import importlib
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from gateway.proxy import ROUTES
from gateway.ratelimits import limit_for
from services.kit import web

SERVICES = ("profiles", "connections", "content", "voting")  # merge order: earlier services keep contested names
REF = "#/components/schemas/"
ERROR = {"$ref": REF + "ErrorBody"}
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                         "description": "An access token from POST /v1/sessions (or /v1/sessions/refresh)."}}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _error(description: str, code: str, message: str, *, retry_after: bool = False, detail: Any = None) -> dict[str, Any]:
    example: dict[str, Any] = {"error": code, "message": message, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}
    if detail is not None:
        example["detail"] = detail
    entry: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": ERROR, "example": example}}}
    if retry_after:
        entry["headers"] = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}
    return entry


# What the gateway itself may answer in front of a forwarded operation.
GATEWAY_ERRORS = {
    "401": _error("Missing, invalid or expired access token (a presented token is verified at the gateway)",
                  "invalid_token", "the access token is malformed or its signature is invalid"),
    "502": _error("Upstream unavailable (`upstream_unavailable`), or its circuit is open (`circuit_open`, with Retry-After)",
                  "upstream_unavailable", "the service is unreachable; try again"),
    "504": _error("Upstream timed out", "upstream_timeout", "the service did not answer in time; try again"),
}
BODY_ERRORS = {
    "400": _error("Malformed request: the body is not valid JSON", "malformed_json", "request body is not valid JSON"),
    "413": _error("Request body too large (over 1 MiB)", "payload_too_large", "request body exceeds 1048576 bytes"),
}
# A service at capacity refuses at once rather than queueing (kit.web.InFlightLimitMiddleware); one that
# cannot reach its database says so (`database_unavailable`). Both may succeed when retried.
OVERLOADED = _error("The service is at capacity (`overloaded`) or cannot reach its database (`database_unavailable`); "
                    "see Retry-After", "overloaded",
                    "the service is at capacity; retry after the time in Retry-After", retry_after=True)
# A path parameter holding an encoded '/' (`/v1/topics/a%2Fb/posts`) is decoded by the service's router and
# names no route there: 404, whatever the operation documents for a missing resource.
NO_ROUTE = _error("Not found (also when a path parameter is not a single path segment)", "not_found", "Not Found")
RATE_LIMITED = _error("Rate limited; see Retry-After", "rate_limited", "too many requests; retry after 2 s",
                      retry_after=True, detail={"limit": "posts", "scope": "member"})
VALIDATION_FAILED = {"description": "Validation failed: `detail` lists each field (`loc`, `message`, `type`)",
                     "content": {"application/json": {"schema": ERROR, "example": {
                         "error": "invalid", "message": "title: String should have at least 1 character",
                         "detail": [{"loc": ["body", "title"], "message": "String should have at least 1 character", "type": "string_too_short"}],
                         "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}}}}


def _service_settings(name: str) -> Any:
    config = importlib.import_module(f"services.{name}.config")
    # Only to build the app object: its lifespan (which would connect) never runs here.
    return config.Settings(kafka_bootstrap_servers="kafka:9092", database_url="postgresql://agora@postgres/agora")


def _auth(route: APIRoute) -> str | None:
    """'required' / 'optional' when the route takes the signed-in member (kit.web), else None."""
    calls = {d.call for d in _dependencies(route.dependant)}
    if web.current_member.dependency in calls:
        return "required"
    if web.optional_member.dependency in calls:
        return "optional"
    return None


def _dependencies(dependant: Any) -> Iterator[Any]:
    for d in dependant.dependencies:
        yield d
        yield from _dependencies(d)


@functools.cache
def service_document(name: str) -> dict[str, Any]:
    """One service's own OpenAPI, each operation marked with `x-agora-auth` ('required'/'optional') when it takes a member."""
    app: FastAPI = importlib.import_module(f"services.{name}.main").create_app(_service_settings(name))
    doc = copy.deepcopy(app.openapi())
    for context in iter_route_contexts(app.routes):  # routes of included routers, with their effective paths
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and (auth := _auth(route)):
            for method in route.methods:
                doc["paths"][context.path_format][method.lower()]["x-agora-auth"] = auth
    return doc


def _resource(path: str) -> str | None:
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "v1" else None


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            yield ref[len(REF):]
        for v in node.values():
            yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _rename_refs(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {k: _rename_refs(v, names) for k, v in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF) and ref[len(REF):] in names:
            out["$ref"] = REF + names[ref[len(REF):]]
        return out
    if isinstance(node, list):
        return [_rename_refs(v, names) for v in node]
    return node


def _merge_schemas(merged: dict[str, Any], schemas: dict[str, Any], service: str) -> dict[str, str]:
    """Adds a service's component schemas to `merged`; returns its renames (name -> new name)."""
    # A schema must be renamed when its name is taken by a different schema, or when it references one that
    # is renamed (its text is then the same but it means the service's own version). Repeat to a fixpoint.
    renamed = {n for n, s in schemas.items() if n in merged and merged[n] != s}
    while True:
        more = {n for n, s in schemas.items() if n not in renamed and renamed & set(_refs(s))}
        if not more:
            break
        renamed |= more
    names = {n: service.capitalize() + n for n in sorted(renamed)}
    for n, new in names.items():
        if new in merged:
            raise ValueError(f"OpenAPI component {n} of {service}: {new} is taken as well")
    for n, s in schemas.items():
        merged[names.get(n, n)] = _rename_refs(s, names)
    return names


def _is_validation_error(response: dict[str, Any]) -> bool:
    return any(c.get("schema") == {"$ref": REF + "HTTPValidationError"} for c in response.get("content", {}).values())


def _complete(op: dict[str, Any], method: str, path: str, *, forwarded: bool) -> None:
    """Fixes an operation's documented answers to what the client really gets through the gateway."""
    responses = op.setdefault("responses", {})
    for status, response in responses.items():
        if status == "422" and _is_validation_error(response):  # kit renders every validation error as ErrorBody
            responses[status] = copy.deepcopy(VALIDATION_FAILED)
        if status == "429":  # kit's TooManyRequests always says when to come back
            response.setdefault("headers", copy.deepcopy(RATE_LIMITED["headers"]))
    if not forwarded:
        _security(op)  # the gateway's own routes say it with openapi_extra={"x-agora-auth": ...}
        return
    extra = dict(GATEWAY_ERRORS, **{"503": OVERLOADED})
    if any(p.get("in") == "path" for p in op.get("parameters", [])):
        extra["404"] = NO_ROUTE
    if "requestBody" in op:
        extra.update(BODY_ERRORS)
    resource = _resource(path)
    if resource and limit_for(method, resource) is not None:
        extra["429"] = RATE_LIMITED
    for status, response in extra.items():
        responses.setdefault(status, copy.deepcopy(response))
    _security(op)


def _security(op: dict[str, Any]) -> None:
    auth = op.pop("x-agora-auth", None)
    if auth == "required":
        op["security"] = [{"bearerAuth": []}]
    elif auth == "optional":
        op["security"] = [{"bearerAuth": []}, {}]


def merge(gateway: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The gateway's own document plus the forwarded /v1 operations of each service, as one document."""
    doc = copy.deepcopy(gateway)
    paths: dict[str, Any] = doc.setdefault("paths", {})
    components = doc.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    for path, item in paths.items():
        for method in METHODS:
            if method in item:
                _complete(item[method], method, path, forwarded=False)
    owned = {(p, m) for p, item in paths.items() for m in item if m in METHODS}
    operation_ids = {op.get("operationId") for item in paths.values() for m, op in item.items() if m in METHODS}
    tags = {t["name"]: t for t in doc.get("tags", [])}
    for service in SERVICES:
        if service not in services:
            continue
        sdoc = services[service]
        forwarded = {p: item for p, item in sdoc.get("paths", {}).items() if ROUTES.get(_resource(p) or "") == service}
        used = _closure(forwarded, sdoc.get("components", {}).get("schemas", {}))
        names = _merge_schemas(schemas, {n: s for n, s in sdoc.get("components", {}).get("schemas", {}).items() if n in used}, service)
        for path, item in forwarded.items():
            target = paths.setdefault(path, {})
            for key, op in _rename_refs(item, names).items():
                if key not in METHODS:
                    target.setdefault(key, op)
                    continue
                if (path, key) in owned:  # the gateway serves it itself (e.g. an aggregated view)
                    continue
                if op.get("operationId") in operation_ids:
                    raise ValueError(f"OpenAPI operationId {op['operationId']} of {service} is taken")
                operation_ids.add(op.get("operationId"))
                op.setdefault("tags", [service])
                _complete(op, key, path, forwarded=True)
                target[key] = op
        for t in sdoc.get("tags", []):
            tags.setdefault(t["name"], t)
    # FastAPI's default validation error schemas are no longer referenced: every 422 is an ErrorBody.
    live = _closure(paths, schemas)
    components["schemas"] = {n: s for n, s in schemas.items() if n in live}
    components.setdefault("securitySchemes", {}).update(BEARER)
    if tags:
        doc["tags"] = [tags[n] for n in sorted(tags)]
    doc["paths"] = {p: paths[p] for p in sorted(paths, key=_path_order)}
    return doc


def _path_order(path: str) -> tuple[int, str]:
    return (0 if path.startswith("/v1/") else 1, path)


def _closure(roots: Any, schemas: dict[str, Any]) -> set[str]:
    """Every schema name `roots` references, directly or through other schemas."""
    seen: set[str] = set()
    todo = list(_refs(roots))
    while todo:
        n = todo.pop()
        if n not in seen and n in schemas:
            seen.add(n)
            todo.extend(_refs(schemas[n]))
    return seen


def install(app: FastAPI) -> None:
    """Serve the merged document at /openapi.json and /docs, built once (on first use or at start-up)."""
    own = app.openapi  # FastAPI's document of the gateway's own routes
    built: list[dict[str, Any]] = []

    def served() -> dict[str, Any]:
        if not built:
            built.append(merge(own(), {s: service_document(s) for s in SERVICES}))
            app.openapi_schema = built[0]
        return built[0]

    app.openapi = served  # type: ignore[method-assign]


@asynccontextmanager
async def warmed(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan extension: build the document at start-up, so the first /docs visitor does not wait for it."""
    app.openapi()
    yield


def document() -> dict[str, Any]:
    from gateway.config import Settings
    from gateway.main import create_app

    return create_app(Settings(kafka_bootstrap_servers="kafka:9092")).openapi()


def render(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


if __name__ == "__main__":
    sys.stdout.buffer.write(render(document()))
