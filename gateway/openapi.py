"""The gateway's OpenAPI document, as committed in docs/openapi.json.

    python -m gateway.openapi > docs/openapi.json

Built from an app with default settings (no process starts, nothing connects); the drift test in
tests/unit/gateway/test_contracts.py compares it with the committed file.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson


def document() -> dict[str, Any]:
    from gateway.config import Settings
    from gateway.main import create_app

    return create_app(Settings(kafka_bootstrap_servers="kafka:9092")).openapi()


def render(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


if __name__ == "__main__":
    sys.stdout.buffer.write(render(document()))
