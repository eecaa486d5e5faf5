"""Answers content's routes give that the published contract (docs/openapi.json) must document."""

from __future__ import annotations

import httpx


async def test_a_path_parameter_holding_a_slash_is_a_404_in_the_error_shape(content: httpx.AsyncClient) -> None:
    # Schemathesis sends such values; the gateway forwards the path as sent, so the route does not match
    # here and the answer is 404, which the gateway's document lists for every operation with path parameters.
    for path in ("/v1/topics/a%2Fb/posts", "/v1/posts/a%2Fb", "/v1/posts/a%2Fb/comments"):
        r = await content.get(path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"] == "not_found" and r.json()["trace_id"]
