"""Who may see which profile field: each field has a visibility, each reader a relation to the owner.

    visibility \\ reader   anonymous  member  connection  owner
    public                  yes        yes     yes         yes
    connections             no         no      yes         yes
    private                 no         no      no          yes

The handle and the trust signals are always public: they are how members are found and judged.
"""

from __future__ import annotations

from typing import Literal

Visibility = Literal["public", "connections", "private"]
Relation = Literal["anonymous", "member", "connection", "owner"]

FIELDS: tuple[str, ...] = ("display_name", "headline", "bio", "location", "company", "website", "skills", "topics")
DEFAULTS: dict[str, Visibility] = {
    "display_name": "public",
    "headline": "public",
    "bio": "public",
    "location": "connections",
    "company": "public",
    "website": "connections",
    "skills": "public",
    "topics": "public",
}
_SEES: dict[Relation, frozenset[str]] = {
    "anonymous": frozenset({"public"}),
    "member": frozenset({"public"}),
    "connection": frozenset({"public", "connections"}),
    "owner": frozenset({"public", "connections", "private"}),
}


def effective(stored: dict[str, str] | None) -> dict[str, Visibility]:
    """Stored visibilities over the defaults (a field never set keeps its default)."""
    out = dict(DEFAULTS)
    for field, level in (stored or {}).items():
        if field in out and level in ("public", "connections", "private"):
            out[field] = level  # type: ignore[assignment]
    return out


def can_see(relation: Relation, visibility: Visibility) -> bool:
    return visibility in _SEES[relation]


def visible_fields(relation: Relation, stored: dict[str, str] | None) -> frozenset[str]:
    levels = effective(stored)
    return frozenset(f for f in FIELDS if can_see(relation, levels[f]))
