"""What profiles consumes. Nothing yet: connection events (for visibility) and tallies (for karma) come next."""

from __future__ import annotations

from typing import Any

CONSUMERS: dict[str, Any] = {}
