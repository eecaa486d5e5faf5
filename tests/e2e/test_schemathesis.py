"""The running system keeps the contract it publishes: Schemathesis, driven by the gateway's own
/openapi.json, sends generated requests (valid and schema-violating) through the gateway as a signed-in
member and checks every answer: never a 5xx, only documented status codes and content types, bodies and
headers that match the documented schemas, and no 2xx for a request the schema forbids.

Bounded and repeatable: a fixed seed, derandomized generation, a few examples per operation, the
generated phase only (the coverage phase would send hundreds of boundary requests per operation).
The live streams are left out: an SSE stream never ends; tests/e2e/test_gateway_streams.py covers them.

One pytest item per operation and mode, driven through Hypothesis here rather than with Schemathesis'
pytest loader (`schemathesis.pytest.from_fixture`), which 4.32.5 breaks on pytest 9 (`request.node._nodeid`).
The member's access token lives 15 minutes: a deep run (SCHEMATHESIS_MAX_EXAMPLES) longer than that
would see 401s (documented, so passing, but testing nothing past that point).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"  # equal to the served one (test_contracts.py)
PATHS = {p: item for p, item in json.loads(DOCUMENT.read_text())["paths"].items() if not p.startswith("/v1/streams/")}
# (operation, mode): every operation with valid input; with invalid input, those that take any input at all.
CASES = sorted((f"{method.upper()} {path}", mode) for path, item in PATHS.items() for method, op in item.items()
               for mode in ("valid", "invalid") if mode == "valid" or op.get("parameters") or op.get("requestBody"))
MODES = {"valid": GenerationMode.POSITIVE, "invalid": GenerationMode.NEGATIVE}
# A handful of examples keeps `make test` short; raise it (e.g. SCHEMATHESIS_MAX_EXAMPLES=200) to hunt for bugs.
EXAMPLES = settings(max_examples=int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "4")), derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def gateway_api(system: Any) -> Any:
    """The document the running gateway serves, with a fresh member's access token on every request."""
    with httpx.Client(base_url=system.gateway, timeout=15) as client:
        creds = {"email": "schemathesis@example.org", "password": "correct horse battery"}
        assert client.post("/v1/accounts", json={**creds, "handle": "schemathesis"}).status_code == 201
        r = client.post("/v1/sessions", json=creds)
        assert r.status_code == 201, r.text
        token = r.json()["access_token"]
        document = client.get("/openapi.json").json()
    config = SchemathesisConfig.from_dict({"seed": 20261127, "base-url": system.gateway, "request-timeout": 15,
                                           "headers": {"Authorization": f"Bearer {token}"}})
    return schemathesis.openapi.from_dict(document, config=config)


@pytest.mark.parametrize(("operation", "mode"), CASES, ids=[f"{mode}-{operation}" for operation, mode in CASES])
def test_the_running_system_keeps_the_published_contract(gateway_api: Any, operation: str, mode: str) -> None:
    op = gateway_api.find_operation_by_label(operation)
    assert op is not None, f"{operation} is in docs/openapi.json but not served"

    @EXAMPLES
    @given(case=op.as_strategy(generation_mode=MODES[mode]))
    def check(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    check()
