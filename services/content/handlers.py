"""What content consumes. Nothing yet: tallies (scores), connection events (network feed) come next."""

from __future__ import annotations

from typing import Any

CONSUMERS: dict[str, Any] = {}
