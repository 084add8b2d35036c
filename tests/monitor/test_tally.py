"""Findings by detector and response actions by state, counted from published events."""

from __future__ import annotations

from datetime import UTC, datetime

from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.monitor.response.kinds import ACTION_PREFIX, FINDING, OBSERVED
from menshen.monitor.tally import ResponseTally

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _event(kind: str, outcome: str, tenant: str = "acme", **details: object) -> AuditEvent:
    return AuditEvent(tenant_id=tenant, kind=kind, outcome=outcome, at=AT, details=details)


def test_findings_are_counted_per_tenant_and_detector() -> None:
    """Each monitor.finding event adds one to its (tenant, detector) pair."""
    bus = EventBus()
    tally = ResponseTally()
    bus.subscribe(tally)
    bus.publish(_event(FINDING, "high", detector="impossible_travel"))
    bus.publish(_event(FINDING, "low", detector="impossible_travel"))
    bus.publish(_event(FINDING, "low", tenant="beta", detector="password_spray"))
    assert tally.finding_counts() == {
        ("acme", "impossible_travel"): 2,
        ("beta", "password_spray"): 1,
    }


def test_actions_are_counted_by_kind_and_state() -> None:
    """Taken, failed and observe-only actions land under done, failed and observed."""
    tally = ResponseTally()
    tally(_event(ACTION_PREFIX + "revoke_sessions", Outcome.SUCCESS))
    tally(_event(ACTION_PREFIX + "block_ip", Outcome.FAILURE))
    tally(_event(ACTION_PREFIX + "block_ip", OBSERVED))
    tally(_event(ACTION_PREFIX + "block_ip", OBSERVED))
    assert tally.action_counts() == {
        ("revoke_sessions", "done"): 1,
        ("block_ip", "failed"): 1,
        ("block_ip", "observed"): 2,
    }


def test_other_events_are_ignored() -> None:
    """Access decisions, sign-ins and other monitor events change neither table."""
    tally = ResponseTally()
    tally(_event(Kind.ACCESS_ALLOW, Outcome.ALLOW, detector="x"))
    tally(_event("monitor.incident.opened", Outcome.SUCCESS))
    assert tally.finding_counts() == {}
    assert tally.action_counts() == {}
