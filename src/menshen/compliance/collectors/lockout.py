"""Account lockout evidence: how many failed sign-ins lock an account and for how long
(PCI DSS v4.0.1 req. 8.3.4: lock after at most 10 attempts for at least 30 minutes; NIST SP
800-63B §5.2.2 rate limiting; NIST SP 800-53 rev5 AC-7; ISO/IEC 27001:2022 A.8.5).

Both checks read the same measurement of the built-in throttle (``menshen.identity.throttle``,
escalating locks): ``locks[n-1]`` is how long the n-th failure in a row locks the account.
The evidence data carries the measured attempts before the first lock, the longest lock
reached within ten failures and the attempts needed to reach a 30-minute lock, so an auditor
sees the figures, not just the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from menshen.compliance.collectors.common import Collector, duration_text, make, not_applicable
from menshen.compliance.model import Bilingual, Evidence, JsonValue, Outcome
from menshen.compliance.sources import CollectContext, EvidenceSources, LockoutFacts

__all__ = [
    "COLLECTORS",
    "MAX_ATTEMPTS",
    "MIN_LOCK",
    "PCI_ATTEMPTS",
    "PCI_LOCK",
    "lockout_duration_pci",
    "lockout_policy",
]

MAX_ATTEMPTS = 5
"""The account must lock after at most this many failures in a row."""
MIN_LOCK = timedelta(minutes=15)
"""...and lock for at least this long within ten failures (the generic check)."""
PCI_ATTEMPTS = 10
"""PCI DSS 8.3.4: lock out after not more than ten invalid attempts..."""
PCI_LOCK = timedelta(minutes=30)
"""...for at least 30 minutes."""


@dataclass(frozen=True, slots=True)
class Measured:
    """The lockout as measured: ``None`` where the account never gets there."""

    attempts_before_lock: int | None
    longest_within_ten: timedelta
    attempts_to_pci_lock: int | None
    locks: tuple[timedelta, ...]
    window: timedelta

    def data(self) -> dict[str, JsonValue]:
        return {
            "attempts_before_lock": self.attempts_before_lock,
            "lock_seconds_within_10": int(self.longest_within_ten.total_seconds()),
            "attempts_to_30_minute_lock": self.attempts_to_pci_lock,
            "locks_seconds": [int(lock.total_seconds()) for lock in self.locks],
            "window_seconds": int(self.window.total_seconds()),
        }


def measure(facts: LockoutFacts) -> Measured:
    """The figures both checks judge, from the lock after each failure."""
    within = facts.locks[:PCI_ATTEMPTS]
    first = next((n for n, lock in enumerate(within, start=1) if lock > timedelta(0)), None)
    long = next((n for n, lock in enumerate(within, start=1) if lock >= PCI_LOCK), None)
    return Measured(
        attempts_before_lock=first,
        longest_within_ten=max(within, default=timedelta(0)),
        attempts_to_pci_lock=long,
        locks=facts.locks,
        window=facts.window,
    )


def _no_accounts(sources: EvidenceSources, ctx: CollectContext, check: str) -> Evidence | None:
    """A setting that protects accounts protects nothing without them: not a pass."""
    if any(not user.disabled for user in sources.users()):
        return None
    return not_applicable(
        ctx, check, "No active accounts to protect yet.", "尚無需要保護的在職帳號。"
    )


def lockout_policy(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """The account locks after at most 5 failures, for at least 15 min within 10 failures."""
    check = "identity.lockout_policy"
    if (none := _no_accounts(sources, ctx, check)) is not None:
        return none
    m = measure(sources.lockout())
    ok = (
        m.attempts_before_lock is not None
        and m.attempts_before_lock <= MAX_ATTEMPTS
        and m.longest_within_ten >= MIN_LOCK
    )
    said = "never" if m.attempts_before_lock is None else str(m.attempts_before_lock)
    longest = duration_text(m.longest_within_ten)
    return make(
        ctx,
        check,
        Outcome.PASS if ok else Outcome.FAIL,
        Bilingual(
            f"Accounts lock after {said} failed sign-ins; the lock reaches {longest} "
            "within 10 failures",
            f"登入失敗 {said} 次即鎖定帳號；10 次內鎖定時間達 {longest}",
        ),
        value=1.0 if ok else 0.0,
        data=m.data(),
        remedy=Bilingual(
            f"set the account lockout to at most {MAX_ATTEMPTS} attempts and at least "
            f"{duration_text(MIN_LOCK)} (identity throttle policy)",
            f"將帳號鎖定設為最多 {MAX_ATTEMPTS} 次、至少 {duration_text(MIN_LOCK)}（身分節流政策）",
        ),
    )


def lockout_duration_pci(sources: EvidenceSources, ctx: CollectContext) -> Evidence:
    """PCI DSS 8.3.4: within 10 failed sign-ins the account is locked for 30 min or more."""
    check = "identity.lockout_duration_pci"
    if (none := _no_accounts(sources, ctx, check)) is not None:
        return none
    m = measure(sources.lockout())
    ok = m.attempts_to_pci_lock is not None
    longest = duration_text(m.longest_within_ten)
    if ok:
        summary = Bilingual(
            f"A {duration_text(PCI_LOCK)} lock is reached after {m.attempts_to_pci_lock} "
            f"failed sign-ins (the longest within 10 is {longest})",
            f"登入失敗 {m.attempts_to_pci_lock} 次即鎖定達 {duration_text(PCI_LOCK)}"
            f"（10 次內最長 {longest}）",
        )
    else:
        summary = Bilingual(
            f"Within 10 failed sign-ins the lock reaches only {longest}; PCI DSS 8.3.4 asks "
            f"for {duration_text(PCI_LOCK)}",
            f"10 次登入失敗內鎖定僅達 {longest}；PCI DSS 8.3.4 要求至少 {duration_text(PCI_LOCK)}",
        )
    return make(
        ctx,
        check,
        Outcome.PASS if ok else Outcome.FAIL,
        summary,
        value=1.0 if ok else 0.0,
        data={**m.data(), "required_lock_seconds": int(PCI_LOCK.total_seconds())},
        remedy=Bilingual(
            f"make the account lock reach at least {duration_text(PCI_LOCK)} within "
            f"{PCI_ATTEMPTS} failures (identity throttle policy: lockout and max_lockout)",
            f"使帳號鎖定於 {PCI_ATTEMPTS} 次失敗內達至少 {duration_text(PCI_LOCK)}"
            "（身分節流政策：lockout 與 max_lockout）",
        ),
    )


COLLECTORS: dict[str, Collector] = {
    "identity.lockout_policy": lockout_policy,
    "identity.lockout_duration_pci": lockout_duration_pci,
}
