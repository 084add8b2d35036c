"""Lockout and back-off for failed authentication (NIST SP 800-63B §5.2.2, rate limiting).

Pure policy over ``ThrottleRecord`` values; the service reads and writes the records.

Two counters are kept per tenant:

* ``user:<user_id>`` — failures against one account. After ``max_failures`` inside the
  window the account locks for ``lockout``; each further failure once the lock has run out
  doubles the lock (1 min, 2, 4, …) up to ``max_lockout``. A success clears it.
* ``ip:<address>`` — failures from one source, whatever account they aimed at, so that a
  password spray across many accounts is stopped. IPv6 sources are counted per /64, the
  smallest block one customer usually holds. A success does not clear it.

The window is fixed, starting at the first failure; while locked, and for one window after
the lock ends, failures are remembered so that back-off keeps escalating. Attempts refused
because of a lock do not count, so an attacker cannot extend a victim's lock without end.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from menshen.errors import InvalidInput
from menshen.store.records import ThrottleRecord

__all__ = [
    "DEFAULT_THROTTLE",
    "LimitRule",
    "ThrottlePolicy",
    "account_key",
    "ip_key",
    "locked_until",
    "register_failure",
]

_MAX_DOUBLINGS = 24  # 2**24 lockouts is centuries; stop before timedelta overflows


@dataclass(frozen=True, slots=True)
class LimitRule:
    """``max_failures`` within ``window`` lock for ``lockout``, doubling up to ``max_lockout``."""

    max_failures: int
    window: timedelta
    lockout: timedelta
    max_lockout: timedelta

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise InvalidInput("max_failures must be at least 1")
        if self.window <= timedelta(0) or self.lockout <= timedelta(0):
            raise InvalidInput("window and lockout must be positive")
        if self.max_lockout < self.lockout:
            raise InvalidInput("max_lockout must not be shorter than lockout")

    def lock_for(self, failures: int) -> timedelta:
        """How long to lock after the ``failures``-th failure (at least ``max_failures``)."""
        doublings = min(max(failures - self.max_failures, 0), _MAX_DOUBLINGS)
        return min(self.lockout * (1 << doublings), self.max_lockout)


def _default_account_rule() -> LimitRule:
    return LimitRule(
        max_failures=5,
        window=timedelta(minutes=15),
        lockout=timedelta(minutes=1),
        max_lockout=timedelta(hours=1),
    )


def _default_ip_rule() -> LimitRule:
    return LimitRule(
        max_failures=20,
        window=timedelta(minutes=15),
        lockout=timedelta(minutes=15),
        max_lockout=timedelta(minutes=15),
    )


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """The rule for account counters and the rule for source-address counters."""

    account: LimitRule = field(default_factory=_default_account_rule)
    ip: LimitRule = field(default_factory=_default_ip_rule)


DEFAULT_THROTTLE = ThrottlePolicy()
"""Accounts: 5 failures in 15 min lock 1 min, doubling to 1 h. Sources: 20 in 15 min, 15 min."""


def account_key(user_id: str) -> str:
    return f"user:{user_id}"


def ip_key(address: str) -> str:
    """``ip:<address>``; IPv6 by /64, IPv4-mapped IPv6 as IPv4, garbage in one shared bucket."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        # Fail closed: unparseable sources share one counter rather than escaping counting.
        return "ip:invalid"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"ip:{ip.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"ip:{ip}"


def locked_until(record: ThrottleRecord | None, now: datetime) -> datetime | None:
    """The end of the lock in force at ``now``, or None when attempts are allowed."""
    if record is None or record.locked_until is None or now >= record.locked_until:
        return None
    return record.locked_until


def _stale(rule: LimitRule, record: ThrottleRecord, now: datetime) -> bool:
    anchor = record.window_started_at
    if record.locked_until is not None and record.locked_until > anchor:
        anchor = record.locked_until
    return now >= anchor + rule.window


def register_failure(
    rule: LimitRule,
    record: ThrottleRecord | None,
    *,
    tenant_id: str,
    key: str,
    now: datetime,
) -> ThrottleRecord:
    """The counter after one more failure at ``now``; ``locked_until`` set when it trips."""
    if record is None or _stale(rule, record, now):
        failures, started, until = 1, now, None
    else:
        failures, started, until = (
            record.failures + 1,
            record.window_started_at,
            record.locked_until,
        )
    if failures >= rule.max_failures:
        new_until = now + rule.lock_for(failures)
        # Never shorten a lock already in force.
        until = new_until if until is None or until < new_until else until
    return ThrottleRecord(
        tenant_id=tenant_id,
        key=key,
        failures=failures,
        window_started_at=started,
        locked_until=until,
    )
