"""Time to detect and time to respond, summarised per month (NIST SP 800-61r2 §3.4.2).

For each calendar month (UTC) of detection: how many incidents, and the median and 90th
percentile of time to detect and of time to respond (incidents not yet responded to are
counted but left out of the response figures). Percentiles use the nearest-rank method,
so every reported figure is one an incident actually had. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from menshen.monitor.incidents.model import Incident

__all__ = ["MonthSummary", "first_month", "nearest_rank", "summarise"]


@dataclass(frozen=True, slots=True)
class MonthSummary:
    month: str  # YYYY-MM
    incidents: int
    responded: int
    detect_median: timedelta | None
    detect_p90: timedelta | None
    respond_median: timedelta | None
    respond_p90: timedelta | None


def first_month(now: datetime, months: int) -> datetime:
    """The start (UTC) of the oldest of the ``months`` calendar months ending with ``now``'s."""
    if months < 1:
        raise ValueError("months must be at least 1")
    year, month = now.astimezone(UTC).year, now.astimezone(UTC).month - (months - 1)
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def nearest_rank(values: Sequence[timedelta], percent: float) -> timedelta | None:
    """The smallest value with at least ``percent``% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(percent / 100.0 * len(ordered)), 1)
    return ordered[rank - 1]


def summarise(incidents: Iterable[Incident]) -> list[MonthSummary]:
    """One summary per month with incidents, oldest month first."""
    months: dict[str, list[Incident]] = {}
    for incident in incidents:
        months.setdefault(incident.detected_at.strftime("%Y-%m"), []).append(incident)
    out: list[MonthSummary] = []
    for month in sorted(months):
        group = months[month]
        detect = [i.time_to_detect for i in group]
        respond = [t for t in (i.time_to_respond for i in group) if t is not None]
        out.append(
            MonthSummary(
                month=month,
                incidents=len(group),
                responded=len(respond),
                detect_median=nearest_rank(detect, 50),
                detect_p90=nearest_rank(detect, 90),
                respond_median=nearest_rank(respond, 50),
                respond_p90=nearest_rank(respond, 90),
            )
        )
    return out
