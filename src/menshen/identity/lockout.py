"""The throttle policy applied to a tenant's stored counters (NIST SP 800-63B §5.2.2).

``menshen.identity.throttle`` decides; this adapter reads and writes ``ThrottleRecord``s.
Each failure is counted by ``ThrottleRepository.update``, which applies the pure rule while
the counter is locked, so parallel guesses are all counted: none is lost to a race.

The lock check before a verification and the count after it are separate steps: requests
already past the check when the lock trips are still verified (and counted, so the back-off
escalates). Guesses per window are therefore bounded by ``max_failures`` plus the number of
requests the attacker keeps in flight at once, no longer unbounded.
"""

from __future__ import annotations

from datetime import datetime

from menshen.identity.throttle import (
    LimitRule,
    ThrottlePolicy,
    account_key,
    ip_key,
    locked_until,
    register_failure,
)
from menshen.store.api import ThrottleRepository
from menshen.store.records import ThrottleRecord

__all__ = ["Lockout"]


class Lockout:
    """Failure counters for accounts and source addresses of one tenant."""

    def __init__(self, repository: ThrottleRepository, tenant_id: str, policy: ThrottlePolicy):
        self._repository = repository
        self._tenant_id = tenant_id
        self._policy = policy

    def source_locked_until(self, ip: str, now: datetime) -> datetime | None:
        return locked_until(self._repository.get(ip_key(ip)), now)

    def account_locked_until(self, user_id: str, now: datetime) -> datetime | None:
        return locked_until(self._repository.get(account_key(user_id)), now)

    def locked(self, user_id: str, ip: str, now: datetime) -> bool:
        """True when either the source or the account is locked at ``now``."""
        return (
            self.source_locked_until(ip, now) is not None
            or self.account_locked_until(user_id, now) is not None
        )

    def fail(self, user_id: str | None, ip: str, now: datetime) -> datetime | None:
        """Count one failure from ``ip`` (and against the account); the latest lock, if any."""
        locks = [self._count(self._policy.ip, ip_key(ip), now)]
        if user_id is not None:
            locks.append(self.fail_account(user_id, now))
        active = [until for until in locks if until is not None and until > now]
        return max(active, default=None)

    def fail_account(self, user_id: str, now: datetime) -> datetime | None:
        """Count one failure against the account only; its lock end, if locked."""
        return self._count(self._policy.account, account_key(user_id), now)

    def reserve_attempt(self, user_id: str, now: datetime) -> datetime | None:
        """Count this attempt against the account before the password is checked.

        Returns the lock end when the account was already locked (refuse without checking).
        Counting first, atomically, means parallel guesses cannot all slip past the check
        while the slow password hash runs: the ones beyond the limit see the lock.
        """
        rule = self._policy.account
        key = account_key(user_id)
        found: list[datetime | None] = [None]

        def take(current: ThrottleRecord | None) -> ThrottleRecord:
            found[0] = locked_until(current, now)
            if current is not None and found[0] is not None:
                return current  # locked already: this attempt is refused, not counted again
            return register_failure(rule, current, tenant_id=self._tenant_id, key=key, now=now)

        self._repository.update(key, take)
        return found[0]

    def succeed(self, user_id: str) -> None:
        """A proof of the account's credential: forget its failures (the source's remain)."""
        self._repository.clear(account_key(user_id))

    def _count(self, rule: LimitRule, key: str, now: datetime) -> datetime | None:
        def one_more(current: ThrottleRecord | None) -> ThrottleRecord:
            return register_failure(rule, current, tenant_id=self._tenant_id, key=key, now=now)

        return self._repository.update(key, one_more).locked_until
