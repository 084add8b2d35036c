"""Counters of the pipeline, per source: what came, what was refused and why, what went on.

Plain integers read by the CLI and health checks; nothing here is on the gateway's path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["SourceMetrics"]


@dataclass(slots=True)
class SourceMetrics:
    received: int = 0  # records offered (admitted or not)
    accepted: int = 0  # events queued for the sink
    delivered: int = 0  # events the sink has taken
    throttled: int = 0  # records refused by the rate limit or a full queue (sender retries)
    dropped: int = 0  # gateway events the hand-off had no room for (caught up from the log)
    quarantine_dropped: int = 0  # rejections counted but not kept (quarantine sampling)
    rejected: Counter[str] = field(default_factory=Counter)  # reason -> count

    def snapshot(self) -> dict[str, int]:
        """Flat counters, ``rejected.<reason>`` for each reason."""
        flat = {
            "received": self.received,
            "accepted": self.accepted,
            "delivered": self.delivered,
            "throttled": self.throttled,
            "dropped": self.dropped,
            "quarantine_dropped": self.quarantine_dropped,
        }
        flat.update({f"rejected.{reason}": count for reason, count in self.rejected.items()})
        return flat
