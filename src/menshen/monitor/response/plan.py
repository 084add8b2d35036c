"""Which playbooks a finding fires and what they do to whom (pure).

A playbook with ``risk_at_least`` fires when the finding lifts the subject's score from
below the threshold to at or above it (a crossing, not every finding while above); any other
playbook fires on a finding of one of its detectors at or above its minimum severity and
confidence. Each action is given a ``dedupe_key`` derived from the playbook, the action, its
target and the finding, so the same finding seen twice (a replay, two replicas) plans the
same keys and the store keeps one action (NIST SP 800-61r2 §3.3).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from menshen.monitor.model import EntityKind, Finding
from menshen.monitor.response.model import ActionKind, PlannedAction, Playbook

__all__ = ["Fired", "finding_key", "plan"]


@dataclass(frozen=True, slots=True)
class Fired:
    """A playbook that fired on ``finding``, the actions it plans and whom it tells."""

    playbook: Playbook
    finding: Finding
    score: float
    actions: tuple[PlannedAction, ...]
    skipped: tuple[str, ...]  # actions with nothing to act on, and why


def finding_key(finding: Finding) -> str:
    """The same text for the same finding: detector, subject, time and its first event."""
    first = finding.event_ids[0] if finding.event_ids else ""
    return f"{finding.detector}|{finding.subject}|{finding.at.isoformat()}|{first}"


def fires(playbook: Playbook, finding: Finding, before: float, after: float) -> bool:
    if playbook.risk_at_least is not None:
        return before < playbook.risk_at_least <= after
    if playbook.detectors and finding.detector not in playbook.detectors:
        return False
    return finding.severity >= playbook.min_severity and (
        finding.confidence >= playbook.min_confidence
    )


def plan(
    playbooks: Sequence[Playbook], finding: Finding, before: float, after: float
) -> list[Fired]:
    """The playbooks ``finding`` fires, given its subject's score ``before`` and ``after``."""
    fired: list[Fired] = []
    for playbook in playbooks:
        if not fires(playbook, finding, before, after):
            continue
        actions: list[PlannedAction] = []
        skipped: list[str] = []
        for kind in playbook.actions:
            target = _target(kind, finding)
            if target is None:
                skipped.append(f"{kind.value}: nothing to act on for {finding.subject}")
                continue
            key = f"{playbook.name}|{kind.value}|{target}|{finding_key(finding)}"
            actions.append(
                PlannedAction(
                    playbook=playbook.name,
                    kind=kind,
                    subject=str(finding.subject),
                    target=target,
                    dedupe_key=hashlib.sha256(key.encode()).hexdigest(),
                    reason=f"{playbook.name}: {finding.summary}",
                    expires_in=playbook.block_for if kind is ActionKind.BLOCK_IP else None,
                )
            )
        fired.append(Fired(playbook, finding, after, tuple(actions), tuple(skipped)))
    return fired


def _target(kind: ActionKind, finding: Finding) -> str | None:
    """What the action applies to: ``user:``, ``client:``, ``session:``, ``ip:``, ``device:``."""
    subject = finding.subject
    if kind is ActionKind.BLOCK_IP:
        if finding.source_ip:
            return f"ip:{finding.source_ip}"
        return f"ip:{subject.id}" if subject.kind is EntityKind.NETWORK else None
    if kind is ActionKind.QUARANTINE_DEVICE:
        if subject.kind is EntityKind.DEVICE:
            return f"device:{subject.id}"
        device = finding.evidence.get("device_id")
        return f"device:{device}" if isinstance(device, str) and device else None
    if subject.kind is EntityKind.USER:
        return f"user:{subject.id}"
    if kind is ActionKind.SUSPEND and subject.kind is EntityKind.CLIENT:
        return f"client:{subject.id}"
    if kind is ActionKind.REVOKE_SESSIONS and finding.session_id:
        return f"session:{finding.session_id}"
    return None
