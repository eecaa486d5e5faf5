"""docs/architecture.md is the map backend teams read: it must name every topic and every event type
the code publishes, with the topic it travels on."""

import importlib
import re
from pathlib import Path

from services.catalog import TOPICS
from services.cli import SERVICES

DOC = (Path(__file__).resolve().parents[2] / "docs/architecture.md").read_text()


def published() -> list:
    return [et for s in SERVICES for et in importlib.import_module(f"services.{s}.events").PUBLISHED]


def test_every_topic_is_on_the_map() -> None:
    for topic in TOPICS:
        assert re.search(rf"\| `{re.escape(topic.name)}` \| {topic.partitions} \|", DOC), f"{topic.name} ({topic.partitions} partitions) missing from docs/architecture.md"


def test_every_event_type_is_documented_with_its_topic() -> None:
    missing = [f"{et.type} on {et.topic.name}" for et in published() if not re.search(rf"\| `{re.escape(et.type)}` \| {re.escape(et.topic.name)} \|", DOC)]
    assert not missing, "events missing from docs/architecture.md's events table: " + ", ".join(missing)
