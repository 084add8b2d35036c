"""The demo firm (Formosa Pay) on the real store (SQLite and PostgreSQL): turn MFA off for a
group, open a flow to the database, and the fsc-zta and cisa-ztmm counts move; undo each
change and every control, count and standing is back where it was (issue 7 "done means")."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from menshen.app import Platform
from menshen.compliance.assess import RANK, assess
from menshen.compliance.catalog import load_catalog
from menshen.compliance.model import Evidence, Outcome
from menshen.compliance.service import ComplianceService
from menshen.crypto import SecretBox
from menshen.demo.firm import FIRM_NAME, TENANT, seed, seed_inventory
from menshen.segmentation import repository
from menshen.segmentation.files import build, example_text, load_example, parse_text
from menshen.settings import Settings
from menshen.store.records import TenantRecord, TotpRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from menshen.testing import FixedClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FRAMEWORKS = ("fsc-zta", "cisa-ztmm")
CATALOG = load_catalog()

OPEN_DB = """---
apiVersion: menshen.dev/v1
kind: Segmentation
metadata: {name: opened}
spec:
  ruleSets:
    - name: opened
      rules:
        - {id: OPEN-1, from: [contractor-laptops], to: [settlement-db], ports: [tcp/1-65535]}
"""


@dataclass(frozen=True, slots=True)
class Standing:
    """What a framework shows: each control's outcome, the counts, the stage standings."""

    controls: dict[str, Outcome]
    counts: dict[Outcome, int]
    stages: tuple[tuple[str, str | None], ...]


@dataclass
class Demo:
    tenant: SqlTenantStore
    service: ComplianceService
    clock: FixedClock

    def measure(self) -> tuple[dict[str, Evidence], dict[str, Standing]]:
        """Collect now (and step the clock), then assess both frameworks."""
        evidence = self.service.collect(TENANT)
        profile = self.service.profile(TENANT)
        standings: dict[str, Standing] = {}
        for framework_id in FRAMEWORKS:
            assessment = assess(
                CATALOG.framework(framework_id), evidence, {}, profile, self.clock.now()
            )
            score = assessment.score
            standings[framework_id] = Standing(
                {r.control.id: r.outcome for r in assessment.results},
                dict(score.counts),
                tuple((s.key, s.stage) for s in (*score.groups, *score.facets)),
            )
        self.clock.advance(60)
        return evidence, standings


@pytest.fixture
def demo(store: SqlStore, tmp_path: Path) -> Demo:
    """Formosa Pay seeded into ``store``, measured once so the audit chain has a history."""
    clock = FixedClock(START)
    settings = Settings(data_dir=tmp_path, database_url=None, tenant=TENANT)
    store.add_tenant(TenantRecord(TENANT, FIRM_NAME, START))
    master = bytes(range(32))
    platform = Platform(settings, clock, store, master, SecretBox(master))
    seed(platform, settlement_url="http://127.0.0.1:9001", wiki_url="http://127.0.0.1:9002")
    seed_inventory(platform)
    made = Demo(store.tenant(TENANT), ComplianceService(store, settings, clock), clock)
    made.measure()  # the first collection writes the audit events the next one verifies
    return made


def _worse(before: Standing, after: Standing) -> tuple[list[str], list[str]]:
    """Controls whose measured outcome got worse, and those that got better."""
    worse: list[str] = []
    better: list[str] = []
    for control, old in before.controls.items():
        new = after.controls[control]
        if old in RANK and new in RANK and RANK[new] != RANK[old]:
            (worse if RANK[new] < RANK[old] else better).append(control)
    return worse, better


def _assert_moves_and_back(
    base: dict[str, Standing], changed: dict[str, Standing], back: dict[str, Standing]
) -> None:
    for framework_id in FRAMEWORKS:
        worse, better = _worse(base[framework_id], changed[framework_id])
        assert worse, f"{framework_id}: no control moved"
        assert better == [], framework_id
        assert changed[framework_id].counts != base[framework_id].counts
        assert changed[framework_id].counts[Outcome.FAIL] > base[framework_id].counts[Outcome.FAIL]
        assert back[framework_id] == base[framework_id], framework_id


def _mfa_off(tenant: SqlTenantStore, group_name: str) -> list[TotpRecord]:
    """The group no longer requires MFA and its members drop their TOTP; returns them."""
    group = tenant.groups.by_name(group_name)
    assert group is not None
    tenant.groups.update(replace(group, mfa_required=False))
    saved: list[TotpRecord] = []
    for member in tenant.groups.members(group.id):
        record = tenant.credentials.get_totp(member.id)
        if record is not None:
            saved.append(record)
            tenant.credentials.delete_totp(member.id)
    assert saved, f"nobody in {group_name} had TOTP"
    return saved


def _mfa_on(tenant: SqlTenantStore, group_name: str, saved: list[TotpRecord]) -> None:
    group = tenant.groups.by_name(group_name)
    assert group is not None
    tenant.groups.update(replace(group, mfa_required=True))
    for record in saved:
        tenant.credentials.put_totp(record)


def test_mfa_off_for_a_group_moves_both_frameworks_and_back(demo: Demo) -> None:
    """finance-ops loses MFA: enrolment fails and controls fall; restoring undoes it all."""
    base_evidence, base = demo.measure()
    saved = _mfa_off(demo.tenant, "finance-ops")
    evidence, changed = demo.measure()
    _mfa_on(demo.tenant, "finance-ops", saved)
    back_evidence, back = demo.measure()
    check = "identity.mfa_enrolled"
    assert base_evidence[check].outcome is not Outcome.FAIL
    assert evidence[check].outcome is Outcome.FAIL
    assert back_evidence[check].outcome is base_evidence[check].outcome
    _assert_moves_and_back(base, changed, back)


def test_opening_a_flow_to_the_database_moves_both_frameworks_and_back(demo: Demo) -> None:
    """Contractors open to the settlement database: network controls fall, then return."""
    base_evidence, base = demo.measure()
    repository.save(
        demo.tenant,
        build(parse_text(example_text() + OPEN_DB, "<opened>")),
        clock=demo.clock,
        prune=True,
    )
    evidence, changed = demo.measure()
    repository.save(demo.tenant, load_example(), clock=demo.clock, prune=True)
    back_evidence, back = demo.measure()
    deny, reach = "network.default_deny", "network.contractor_reach_restricted"
    assert base_evidence[deny].outcome is not Outcome.FAIL
    assert evidence[deny].outcome is Outcome.FAIL
    assert back_evidence[deny].outcome is base_evidence[deny].outcome
    reached = [item.value for item in (base_evidence[reach], evidence[reach], back_evidence[reach])]
    assert reached[1] is not None
    assert reached[0] is not None
    assert reached[1] > reached[0] == reached[2]
    _assert_moves_and_back(base, changed, back)
