"""Durations in policies: parsing and the one canonical spelling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.policy import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("1d", timedelta(days=1)),
        ("45s", timedelta(seconds=45)),
        ("1h30m", timedelta(minutes=90)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_parse_duration_accepts_units(text: str, expected: timedelta) -> None:
    """d, h, m and s, alone or combined."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "12", "h", "12H", "1.5h", "-1h", "0m", "1h1h", "400d", " 1h"])
def test_parse_duration_rejects_nonsense(text: str) -> None:
    """Anything but positive whole units up to a year is refused."""
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_format_duration_is_canonical() -> None:
    """Largest units first, zero parts left out."""
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(hours=24)) == "1d"
    assert format_duration(timedelta(hours=12)) == "12h"


@given(st.integers(min_value=1, max_value=366 * 86400))
def test_format_then_parse_round_trips(seconds: int) -> None:
    """Every canonical spelling parses back to the same duration."""
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value
