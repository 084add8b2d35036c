"""Refusing input: one exception with a machine reason, and the checks every mapper shares.

A mapper either returns an ``ObservedEvent`` or raises ``Rejected``; the pipeline counts the
rejection by reason and quarantines a bounded excerpt (NIST SP 800-92 §4.2: keep what failed
to parse, and why). Times are checked here: before 2000 (an unset clock, a zero epoch) or
further in the future than the allowed skew are refused, never silently clamped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["EARLIEST", "MapContext", "Rejected", "checked_time", "excerpt"]

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
EXCERPT_CHARS = 256


class Rejected(Exception):
    """Input that cannot become an event. ``reason`` is a short fixed label (for counting);
    ``detail`` says what exactly was wrong."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class MapContext:
    """What a mapper needs besides the record: whose event, which source, the time now
    (for the future-skew check) and the epoch of formats with relative times (LANL)."""

    tenant_id: str
    source: str
    now: datetime
    max_skew: timedelta = timedelta(minutes=5)
    epoch: datetime = EARLIEST


def checked_time(at: datetime, ctx: MapContext) -> datetime:
    """``at`` in UTC, or ``Rejected`` if naive, before 2000 or beyond ``now + max_skew``."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise Rejected("bad_time", "time without a zone")
    at = at.astimezone(UTC)
    if at < EARLIEST:
        raise Rejected("time_too_old", at.isoformat())
    if at > ctx.now + ctx.max_skew:
        raise Rejected("time_in_future", at.isoformat())
    return at


def excerpt(raw: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``raw`` for the quarantine, control characters escaped."""
    if isinstance(raw, bytes):
        raw = raw[: limit * 4].decode("utf-8", "replace")
    cut = raw[:limit]
    text = cut.encode("unicode_escape", "backslashreplace").decode("ascii")[:limit]
    return text + ("…" if len(raw) > limit else "")
