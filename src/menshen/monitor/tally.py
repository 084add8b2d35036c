"""Findings by detector and response actions by kind and state, counted from the audit
events the engine and the action runner publish (the operations metrics; NIST SP 800-61r2
§3.2.4 — how many indications each detector raised and how containment went).

Subscribed to the event bus only when the metrics listener is on. It is called for every
event published (the gateway's access events too), so everything outside ``monitor.*``
leaves after one string comparison.
"""

from __future__ import annotations

from collections import Counter

from menshen.events.model import AuditEvent, Outcome
from menshen.monitor.response.kinds import ACTION_PREFIX, FINDING, OBSERVED

__all__ = ["ResponseTally"]

_PREFIX = "monitor."
_STATES = {Outcome.SUCCESS: "done", Outcome.FAILURE: "failed", OBSERVED: "observed"}


class ResponseTally:
    """``findings[(tenant, detector)]`` and ``actions[(action, state)]`` since start; the
    state is ``done``, ``failed`` or ``observed`` (observe-only mode, not taken)."""

    __slots__ = ("actions", "findings")

    def __init__(self) -> None:
        self.findings: Counter[tuple[str, str]] = Counter()
        self.actions: Counter[tuple[str, str]] = Counter()

    def __call__(self, event: AuditEvent) -> None:
        kind = event.kind
        if not kind.startswith(_PREFIX):
            return
        if kind == FINDING:
            detector = event.details.get("detector")
            self.findings[(event.tenant_id, str(detector or "unknown"))] += 1
        elif kind.startswith(ACTION_PREFIX):
            state = _STATES.get(event.outcome, event.outcome)
            self.actions[(kind[len(ACTION_PREFIX) :], state)] += 1

    def finding_counts(self) -> dict[tuple[str, str], int]:
        return dict(self.findings)

    def action_counts(self) -> dict[tuple[str, str], int]:
        return dict(self.actions)
