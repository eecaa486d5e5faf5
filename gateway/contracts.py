"""The published contracts, served by the gateway: the AsyncAPI document of Agora's Kafka events.

(The gateway's OpenAPI, its own routes plus every operation it forwards, is served at /openapi.json and
/docs by `gateway.openapi.install`.)
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from gateway import asyncapi

router = APIRouter(tags=["contracts"])


@router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of every Kafka topic and event type",
            response_class=Response, responses={200: {"content": {"application/json": {}}}})
async def asyncapi_document() -> Response:
    return Response(asyncapi.served(), media_type="application/json")
