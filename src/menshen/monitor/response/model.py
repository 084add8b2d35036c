"""Playbooks and what they plan (NIST SP 800-61r2 §3.3.1, containment strategies).

A playbook fires on a finding (of some detectors, at or above a severity and confidence)
or on a subject's risk score reaching a threshold, and then takes actions and notifies
people. Values only; ``plan`` decides, ``actions`` and ``notify`` do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from menshen.monitor.model import Severity

__all__ = ["ActionKind", "PlannedAction", "Playbook"]


class ActionKind(StrEnum):
    REVOKE_SESSIONS = "revoke_sessions"  # end the subject's sessions (or the finding's one)
    REQUIRE_STEP_UP = "require_step_up"  # the next request must verify the second factor
    SUSPEND = "suspend"  # disable the user, end their sessions
    BLOCK_IP = "block_ip"  # refuse the finding's source address for a time
    QUARANTINE_DEVICE = "quarantine_device"  # revoke the device, end its sessions


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    detectors: frozenset[str] = frozenset()  # empty: any detector
    min_severity: Severity = Severity.LOW
    min_confidence: float = 0.0
    risk_at_least: float | None = None  # a score trigger instead of a finding trigger
    actions: tuple[ActionKind, ...] = ()
    block_for: timedelta = timedelta(hours=1)
    notify: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One action to take; ``dedupe_key`` is the same however often the finding is seen."""

    playbook: str
    kind: ActionKind
    subject: str  # "kind:id"
    target: str  # user id, session id, address or device id the action applies to
    dedupe_key: str
    reason: str
    expires_in: timedelta | None = None
