"""Shadow mode: a validated candidate, compiled beside the active policy, never enforced."""

from __future__ import annotations

from datetime import timedelta

import pytest

from menshen.access.loader import load_directory
from menshen.errors import ConfigError
from menshen.events.model import Kind
from menshen.events.shadow_report import summarise
from menshen.manifest import apply_manifests, parse_manifests
from menshen.manifest.shadow import load_candidate, shadow_policy, start_shadow, stop_shadow
from menshen.policy import AccessRequest, Effect, Subject
from menshen.store.api import TenantStore
from menshen.store.policy_versions import PolicyCandidateRecord
from menshen.store.records import AuditRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.manifest.conftest import FIRM, T0

HEAD = "apiVersion: menshen.dev/v1\n"
WIKI = f"""\
---
{HEAD}kind: Policy
metadata: {{name: wiki-access}}
spec:
  app: wiki
  rules:
    - name: staff-and-contractors
      groups: [ops, contractors]
"""
CANDIDATE = f"""\
{HEAD}kind: Policy
metadata: {{name: wiki-access}}
spec:
  app: wiki
  rules:
    - name: not-bob
      effect: deny
      users: [bob]
    - name: staff-and-contractors
      groups: [ops, contractors]
"""
BOB = Subject("id-bob", "bob", "bob@example.tw", frozenset({"ops"}))


def request(app: str, path: str, subject: Subject = BOB) -> AccessRequest:
    return AccessRequest(
        tenant_id="t1",
        app=app,
        method="GET",
        path=path,
        source_ip="10.1.2.3",
        now=T0,
        subject=subject,
        mfa_method="totp",
        mfa_at=T0 - timedelta(minutes=5),
    )


@pytest.fixture
def active(firm: TenantStore, clock: FixedClock) -> TenantStore:
    """The sample firm applied, with a wiki policy that lets ops and contractors in."""
    apply_manifests(firm, parse_manifests(FIRM + WIKI, "firm.yaml"), clock=clock)
    return firm


def test_candidate_is_stored_and_judges_differently(
    store: SqlStore, active: TenantStore, clock: FixedClock
) -> None:
    """The stored candidate denies bob the wiki; the active policy still allows him."""
    candidate = start_shadow(active, CANDIDATE, "candidate.yaml", clock=clock, author="cli:mei")
    assert candidate.record.source == "candidate.yaml"
    assert candidate.record.created_at == clock.now()
    assert candidate.policy.decide(request("wiki", "/wiki/")).effect is Effect.DENY
    loaded = load_candidate(active)
    assert loaded is not None
    assert loaded.record == candidate.record
    directory = load_directory(store, ["t1"])
    active_policy = directory.policy("t1")
    shadow = directory.shadow_policy("t1")
    assert active_policy is not None
    assert shadow is not None
    assert active_policy.decide(request("wiki", "/wiki/")).effect is Effect.ALLOW
    assert shadow.decide(request("wiki", "/wiki/")).effect is Effect.DENY


def test_candidate_keeps_the_stored_policies_it_does_not_name(
    active: TenantStore, clock: FixedClock
) -> None:
    """Like apply, a candidate replaces same-named objects only: settlement is judged as now."""
    candidate = start_shadow(active, CANDIDATE, "candidate.yaml", clock=clock, author="cli:mei")
    decision = candidate.policy.decide(request("settlement", "/ledger"))
    assert decision.effect is Effect.ALLOW
    assert decision.rule == "settlement-access/ops-read"


def test_a_bad_candidate_is_refused_and_nothing_stored(
    store: SqlStore, active: TenantStore, clock: FixedClock
) -> None:
    """A candidate naming an unknown group fails like apply would, before anything is stored."""
    before = store.revisions()["t1"]
    bad = CANDIDATE.replace("users: [bob]", "groups: [nobody]")
    with pytest.raises(ConfigError, match="nobody"):
        start_shadow(active, bad, "candidate.yaml", clock=clock, author="cli:mei")
    assert active.policy_candidate.get() is None
    assert store.revisions()["t1"] == before


def test_start_and_stop_move_the_revision(
    store: SqlStore, active: TenantStore, clock: FixedClock
) -> None:
    """Gateways notice both through the tenant revision; stop removes the candidate."""
    revisions = [store.revisions()["t1"]]
    start_shadow(active, CANDIDATE, "candidate.yaml", clock=clock, author="cli:mei")
    revisions.append(store.revisions()["t1"])
    removed = stop_shadow(active)
    revisions.append(store.revisions()["t1"])
    assert removed is not None
    assert removed.source == "candidate.yaml"
    assert revisions == sorted(set(revisions))
    assert stop_shadow(active) is None
    assert load_directory(store, ["t1"]).shadow_policy("t1") is None


def test_a_candidate_that_no_longer_compiles_is_ignored(
    store: SqlStore, active: TenantStore
) -> None:
    """A broken stored candidate yields no shadow policy and does not block the reload."""
    broken = PolicyCandidateRecord("t1", T0, "cli:mei", "c.yaml", CANDIDATE + "oops: [", "0" * 64)
    active.policy_candidate.put(broken)
    assert shadow_policy(active) is None
    directory = load_directory(store, ["t1"])
    assert directory.policy("t1") is not None
    assert directory.shadow_policy("t1") is None


def _record(seq: int, user: str, minutes: int, rule: str = "wiki-access/not-bob") -> AuditRecord:
    return AuditRecord(
        tenant_id="t1",
        seq=seq,
        id=f"e{seq}",
        at=T0 + timedelta(minutes=minutes),
        kind=Kind.POLICY_SHADOW_DISAGREEMENT,
        outcome="allow",
        actor=user,
        subject=None,
        app="wiki",
        ip="10.1.2.3",
        session_id="s1",
        reason="active allow, candidate deny",
        details={
            "method": "GET",
            "path": "/wiki/",
            "active_rule": "wiki-access/staff-and-contractors",
            "candidate_effect": "deny",
            "candidate_rule": rule,
        },
    )


def test_report_counts_by_rule_and_user_with_newest_examples() -> None:
    """Disagreements are grouped by change and user; other kinds and older rows are left out."""
    other = AuditRecord(
        "t1", 9, "x", T0, "access.allow", "allow", "id-bob", None, "wiki", None, None, None
    )
    rows = [
        _record(1, "id-bob", 1),
        _record(2, "id-bob", 2),
        _record(3, "id-carol", 3, ""),
        _record(4, "id-bob", -10),
        other,
    ]
    names = {"id-bob": "bob", "id-carol": "carol"}
    report = summarise(rows, username=names.__getitem__, since=T0, examples=2)
    assert report.total == 3
    change = "allow (wiki-access/staff-and-contractors) -> deny (wiki-access/not-bob)"
    assert report.by_rule[0] == ("wiki", change, 2)
    assert report.by_rule[1][1].endswith("-> deny (no rule)")
    assert report.by_user == (("bob", 2), ("carol", 1))
    assert [(item.user, item.path) for item in report.examples] == [
        ("carol", "/wiki/"),
        ("bob", "/wiki/"),
    ]
