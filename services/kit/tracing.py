"""W3C Trace Context: the `traceparent` that follows a request from HTTP through Kafka to consumers.

The current value lives in a context variable, so logs, outbox rows and outgoing calls pick it up
without being handed it. A malformed incoming header is replaced by a fresh trace, never trusted.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
current_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)


def new_traceparent(trace_id: str | None = None) -> str:
    return f"00-{trace_id or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def parse(value: str | None) -> str | None:
    """Return the trace id of a valid traceparent, else None."""
    if not value:
        return None
    m = _TRACEPARENT.match(value.strip().lower())
    if not m or m.group(1) == "0" * 32 or m.group(2) == "0" * 16:
        return None
    return m.group(1)


def continue_trace(incoming: str | None) -> str:
    """A child span of the incoming trace (same trace id, new span id), or a new trace."""
    return new_traceparent(parse(incoming))


def trace_id() -> str | None:
    return parse(current_traceparent.get())
