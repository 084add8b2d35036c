"""PCI DSS 8.3.4 lockout duration and the 90-day stale-account limit (8.2.6, CS Act): the
measured figures are in the evidence, and the outcomes follow the requirement."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from menshen.compliance.collect import collect_one
from menshen.compliance.live import LiveSources
from menshen.compliance.model import Outcome
from menshen.compliance.sources import LockoutFacts
from menshen.settings import Settings
from menshen.store.sql import SqlStore
from tests.compliance.collectors.fakes import CTX, OPTIONS, FakeSources

PCI = "identity.lockout_duration_pci"
GENERIC = "identity.lockout_policy"
STALE = "identity.stale_accounts"


def _locks(first: int, minutes: list[int]) -> LockoutFacts:
    """No lock before the ``first``-th failure, then the given minutes (padded to 10)."""
    tail = [timedelta(minutes=m) for m in minutes]
    tail += [tail[-1]] * (10 - (first - 1) - len(tail))
    return LockoutFacts((timedelta(0),) * (first - 1) + tuple(tail), timedelta(minutes=15))


def test_lockout_evidence_carries_attempts_and_duration() -> None:
    """Attempts before lock, longest lock within 10 and attempts to 30 min are data."""
    sources = FakeSources(lockout_=_locks(5, [1, 2, 4, 8, 16, 32]))
    for check in (PCI, GENERIC):
        data = collect_one(check, sources, CTX).data
        assert data["attempts_before_lock"] == 5
        assert data["lock_seconds_within_10"] == 32 * 60
        assert data["attempts_to_30_minute_lock"] == 10


def test_a_fifteen_minute_lock_passes_the_generic_check_but_not_pci() -> None:
    """15 minutes satisfies the generic lockout, not PCI DSS 8.3.4's 30 minutes."""
    sources = FakeSources(lockout_=_locks(5, [15]))
    assert collect_one(GENERIC, sources, CTX).outcome is Outcome.PASS
    pci = collect_one(PCI, sources, CTX)
    assert pci.outcome is Outcome.FAIL
    assert pci.data["attempts_to_30_minute_lock"] is None
    assert "30m" in pci.summary.en


def test_a_thirty_minute_lock_only_after_ten_failures_fails_pci() -> None:
    """The 30-minute lock must come within ten attempts, not the eleventh."""
    locks = (timedelta(0),) * 4 + (timedelta(minutes=15),) * 6 + (timedelta(minutes=60),)
    sources = FakeSources(lockout_=LockoutFacts(locks, timedelta(minutes=15)))
    assert collect_one(PCI, sources, CTX).outcome is Outcome.FAIL


def test_the_built_in_throttle_meets_pci_lockout(tmp_path: Path, sqlite_store: SqlStore) -> None:
    """menshen's default throttle (5 failures, doubling locks) reaches 30 min by the 10th."""
    settings = Settings(data_dir=tmp_path, database_url=None, tenant="t1")
    live = LiveSources(sqlite_store.tenant("t1"), settings)
    sources = FakeSources(lockout_=live.lockout())
    evidence = collect_one(PCI, sources, CTX)
    assert evidence.outcome is Outcome.PASS, evidence.summary.en
    assert evidence.data["attempts_before_lock"] == 5
    assert evidence.data["lock_seconds_within_10"] >= 30 * 60  # type: ignore[operator]


def test_stale_limit_over_90_days_is_partial_with_the_reason() -> None:
    """No idle account, but a 120-day limit: partial, naming the 90-day requirement."""
    ctx = replace(CTX, options=replace(OPTIONS, stale_after=timedelta(days=120)))
    evidence = collect_one(STALE, FakeSources(), ctx)
    assert evidence.outcome is Outcome.PARTIAL
    assert "90 days" in evidence.summary.en
    assert "120" in evidence.summary.zh_tw
    assert evidence.remedy is not None
    assert "stale_after_days" in evidence.remedy.en
    assert evidence.data["limit_too_long"] is True


def test_stale_limit_of_90_days_passes_and_idle_accounts_still_fail() -> None:
    """90 days is enough; an idle account fails whatever the limit."""
    assert collect_one(STALE, FakeSources(), CTX).outcome is Outcome.PASS
    long = replace(CTX, options=replace(OPTIONS, stale_after=timedelta(days=120)))
    idle = FakeSources()
    idle.users_ = [replace(u, last_sign_in=CTX.at - timedelta(days=200)) for u in idle.users_]
    assert collect_one(STALE, idle, long).outcome is Outcome.FAIL
