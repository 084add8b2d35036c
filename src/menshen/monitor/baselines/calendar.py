"""Local time in the firm's time zone: hour of the week and the month-end business day.

Baselines bucket activity by local weekday and hour (Elastic's "rare hour for a user" models
time of day per user) and treat the last business day of a month as its own day class, so a
batch job that always runs then is compared with earlier month-ends, not with ordinary days.
Public holidays are not known here: a month whose last weekday is a holiday is compared with
ordinary days (documented limit). Conversions are cached per UTC hour, which is exact for
every zone whose offsets are whole or half hours — and cheap on the hot path.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["LocalClock", "LocalHour", "is_last_business_day"]

LocalHour = tuple[int, bool, int]  # (hour of week 0..167 from Monday 00h, month-end?, day no.)

_CACHE_LIMIT = 8192


def is_last_business_day(day: date) -> bool:
    """True on the last Monday-Friday of ``day``'s month."""
    if day.weekday() >= 5:
        return False
    last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    return day == last


class LocalClock:
    """Maps epoch seconds to the firm's local hour of week, with a per-hour cache."""

    __slots__ = ("_cache", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._cache: dict[int, LocalHour] = {}

    def hour(self, epoch: float) -> LocalHour:
        # Half-hour zones (e.g. Asia/Kolkata) stay exact: the cache key is the UTC half hour.
        key = int(epoch // 1800)
        found = self._cache.get(key)
        if found is not None:
            return found
        local = datetime.fromtimestamp(key * 1800 + 1, tz=UTC).astimezone(self.zone)
        day = local.date()
        value = (local.weekday() * 24 + local.hour, is_last_business_day(day), day.toordinal())
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = value
        return value
