"""Lockout and back-off policy over ThrottleRecord values (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.errors import InvalidInput
from menshen.identity.throttle import (
    DEFAULT_THROTTLE,
    LimitRule,
    account_key,
    ip_key,
    locked_until,
    register_failure,
)
from menshen.store.records import ThrottleRecord

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ACCOUNT = DEFAULT_THROTTLE.account
IP = DEFAULT_THROTTLE.ip


def _fail(rule: LimitRule, record: ThrottleRecord | None, at: datetime) -> ThrottleRecord:
    return register_failure(rule, record, tenant_id="t1", key="user:u1", now=at)


def _fail_times(rule: LimitRule, times: list[datetime]) -> ThrottleRecord:
    record: ThrottleRecord | None = None
    for at in times:
        record = _fail(rule, record, at)
    assert record is not None
    return record


def test_default_policy_values() -> None:
    """Accounts: 5 in 15 min, 1 min doubling to 1 h. Sources: 20 in 15 min, 15 min."""
    assert (ACCOUNT.max_failures, ACCOUNT.window) == (5, timedelta(minutes=15))
    assert (ACCOUNT.lockout, ACCOUNT.max_lockout) == (timedelta(minutes=1), timedelta(hours=1))
    assert (IP.max_failures, IP.window, IP.lockout) == (
        20,
        timedelta(minutes=15),
        timedelta(minutes=15),
    )


def test_four_failures_do_not_lock() -> None:
    """Below the threshold the account stays open."""
    record = _fail_times(ACCOUNT, [T0 + timedelta(seconds=i) for i in range(4)])
    assert record.failures == 4
    assert locked_until(record, T0 + timedelta(seconds=5)) is None


def test_fifth_failure_in_window_locks_for_one_minute() -> None:
    """The fifth failure inside 15 minutes locks the account for one minute."""
    fifth = T0 + timedelta(minutes=14)
    record = _fail_times(ACCOUNT, [T0, T0, T0, T0, fifth])
    assert record.locked_until == fifth + timedelta(minutes=1)
    assert locked_until(record, fifth + timedelta(seconds=59)) == fifth + timedelta(minutes=1)
    assert locked_until(record, fifth + timedelta(minutes=1)) is None


def test_failures_spread_beyond_the_window_start_a_new_count() -> None:
    """A failure 15 minutes after the window began starts counting again from one."""
    record = _fail_times(ACCOUNT, [T0] * 4 + [T0 + timedelta(minutes=15)])
    assert record.failures == 1
    assert record.window_started_at == T0 + timedelta(minutes=15)
    assert record.locked_until is None


def test_backoff_doubles_after_each_expired_lock_and_caps_at_one_hour() -> None:
    """Locks run 1, 2, 4, 8, 16, 32, 60, 60 minutes as failures continue after each."""
    at = T0
    record = _fail_times(ACCOUNT, [at] * 5)
    lengths = []
    for _ in range(8):
        assert record.locked_until is not None
        lengths.append(int((record.locked_until - at).total_seconds() // 60))
        at = record.locked_until
        record = _fail(ACCOUNT, record, at)
    assert lengths == [1, 2, 4, 8, 16, 32, 60, 60]


def test_counter_is_remembered_for_one_window_after_a_lock_ends() -> None:
    """A failure 14 minutes after the lock ended still escalates the back-off."""
    record = _fail_times(ACCOUNT, [T0] * 5)
    assert record.locked_until is not None
    later = record.locked_until + timedelta(minutes=14)
    escalated = _fail(ACCOUNT, record, later)
    assert escalated.failures == 6
    assert escalated.locked_until == later + timedelta(minutes=2)


def test_counter_is_forgotten_one_window_after_a_lock_ends() -> None:
    """Fifteen quiet minutes after the lock ends, the count starts again."""
    record = _fail_times(ACCOUNT, [T0] * 5)
    assert record.locked_until is not None
    later = record.locked_until + timedelta(minutes=15)
    fresh = _fail(ACCOUNT, record, later)
    assert (fresh.failures, fresh.locked_until) == (1, None)


def test_a_failure_never_shortens_a_lock_in_force() -> None:
    """A failure counted during a long lock (a 2-minute step) keeps the later end."""
    record = ThrottleRecord("t1", "user:u1", 5, T0, T0 + timedelta(hours=1))
    after = _fail(ACCOUNT, record, T0 + timedelta(minutes=1))
    assert after.locked_until == T0 + timedelta(hours=1)


def test_source_blocks_after_twenty_failures_for_fifteen_minutes() -> None:
    """The twentieth failure from one source blocks it for 15 minutes."""
    nineteen = _fail_times(IP, [T0] * 19)
    assert nineteen.locked_until is None
    blocked = _fail(IP, nineteen, T0 + timedelta(minutes=1))
    assert blocked.locked_until == T0 + timedelta(minutes=16)


def test_source_block_stays_fifteen_minutes_when_failures_continue() -> None:
    """The source rule has no back-off: every block is 15 minutes."""
    record = _fail_times(IP, [T0] * 20)
    assert record.locked_until is not None
    again = _fail(IP, record, record.locked_until)
    assert again.locked_until == record.locked_until + timedelta(minutes=15)


def test_no_record_means_not_locked() -> None:
    """A key that never failed is open."""
    assert locked_until(None, T0) is None


def test_keys() -> None:
    """Keys are user:<id> and ip:<address>."""
    assert account_key("u-1") == "user:u-1"
    assert ip_key("203.0.113.7") == "ip:203.0.113.7"


def test_ipv6_sources_count_per_64() -> None:
    """Two addresses in one /64 share a counter; another /64 has its own."""
    first = ip_key("2001:db8:1:2::1")
    assert first == "ip:2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:2:ffff::9") == first
    assert ip_key("2001:db8:1:3::1") != first


def test_ipv4_mapped_ipv6_counts_as_the_ipv4_address() -> None:
    """::ffff:a.b.c.d is the same client as a.b.c.d."""
    assert ip_key("::ffff:203.0.113.7") == ip_key("203.0.113.7")


def test_unparseable_sources_share_one_counter() -> None:
    """Garbage addresses are not exempt from counting: they share one bucket."""
    assert ip_key("not an ip") == ip_key("") == "ip:invalid"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_failures": 0},
        {"window": timedelta(0)},
        {"lockout": timedelta(seconds=-1)},
        {"max_lockout": timedelta(seconds=30)},
    ],
)
def test_nonsense_rules_are_refused(kwargs: dict[str, object]) -> None:
    """Zero thresholds, empty windows and a cap below the first lock are InvalidInput."""
    base: dict[str, object] = {
        "max_failures": 5,
        "window": timedelta(minutes=15),
        "lockout": timedelta(minutes=1),
        "max_lockout": timedelta(hours=1),
    }
    with pytest.raises(InvalidInput):
        LimitRule(**(base | kwargs))  # type: ignore[arg-type]


@given(gaps=st.lists(st.integers(0, 7200), min_size=1, max_size=60))
def test_locks_never_exceed_the_cap_and_always_follow_the_threshold(gaps: list[int]) -> None:
    """Whatever the timing, a lock is at most one hour and only after five failures."""
    record: ThrottleRecord | None = None
    at = T0
    for gap in gaps:
        at += timedelta(seconds=gap)
        record = _fail(ACCOUNT, record, at)
        assert record.failures >= 1
        if record.locked_until is not None and record.locked_until > at:
            assert record.failures >= 5
            assert record.locked_until - at <= timedelta(hours=1)
        if record.failures >= 5:
            assert record.locked_until is not None
            assert record.locked_until > at
