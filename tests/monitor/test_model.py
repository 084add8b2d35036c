from __future__ import annotations

from datetime import UTC, datetime

import pytest

from menshen.errors import InvalidInput
from menshen.monitor.model import (
    Category,
    Entity,
    EntityKind,
    Finding,
    ObservedEvent,
    Severity,
)

AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_an_observed_event_needs_an_aware_time() -> None:
    """A naive timestamp is refused: every event is placed on one UTC time line."""
    with pytest.raises(InvalidInput):
        ObservedEvent("t", datetime(2026, 1, 1), "gateway", "e1", Category.ACCESS, "request")


def test_an_observed_event_refuses_negative_bytes() -> None:
    """Byte counts are never negative."""
    with pytest.raises(InvalidInput):
        ObservedEvent("t", AT, "gateway", "e1", Category.TRANSFER, "download", bytes_out=-1)


def test_a_finding_confidence_lies_between_zero_and_one() -> None:
    """Confidence outside [0, 1] (or NaN) is refused."""
    subject = Entity(EntityKind.USER, "alice")
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(InvalidInput):
            Finding("t", "new_country", subject, AT, Severity.HIGH, bad, "new country")


def test_entities_print_as_kind_and_id() -> None:
    """An entity reads as kind:id in logs and reports."""
    assert str(Entity(EntityKind.NETWORK, "203.0.113.0/24")) == "network:203.0.113.0/24"
