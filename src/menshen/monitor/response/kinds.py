"""The audit event kinds automatic response writes (``menshen.events.model`` allows
dotted extension names). Every action, its undo and every failed notification is audited
(NIST SP 800-92 §2.1; NIST SP 800-61r2 §3.2.5)."""

from __future__ import annotations

from typing import Final

ACTION_PREFIX: Final = "monitor.action."  # + the action: monitor.action.revoke_sessions ...
ACTION_UNDONE: Final = "monitor.action_undone"
NOTIFY_SENT: Final = "monitor.notify.sent"
NOTIFY_FAILED: Final = "monitor.notify.failed"
INCIDENT_OPENED: Final = "monitor.incident.opened"
INCIDENT_CHANGED: Final = "monitor.incident.changed"
FINDING: Final = "monitor.finding"

OBSERVED: Final = "observed"  # the outcome of an action observe-only mode did not take
ACTOR: Final = "monitor"
