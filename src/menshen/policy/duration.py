"""Durations as policy authors write them: ``30m``, ``12h``, ``1d``, ``1h30m``.

One canonical spelling per duration (largest units first, zero parts left out) so that a
policy exported and applied again compares equal.
"""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([dhms])")
_WHOLE = re.compile(r"(?:\d+[dhms])+")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_MAX_SECONDS = 366 * 86400


def parse_duration(text: str) -> timedelta:
    """Parse ``1d``, ``12h``, ``30m``, ``45s`` or a sequence like ``1h30m``.

    Raises ``ValueError`` for anything else, for zero, and for more than a year.
    """
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"invalid duration {text!r}: use a number and a unit d, h, m or s")
    units = [unit for _, unit in _PART.findall(text)]
    if len(set(units)) != len(units):
        raise ValueError(f"invalid duration {text!r}: a unit appears twice")
    seconds = sum(int(number) * _SECONDS[unit] for number, unit in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: must be longer than zero")
    if seconds > _MAX_SECONDS:
        raise ValueError(f"invalid duration {text!r}: must be at most 366d")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The canonical spelling of a whole number of seconds (``timedelta(hours=12)`` → ``12h``)."""
    remaining = int(value.total_seconds())
    if remaining <= 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _SECONDS.items():
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
