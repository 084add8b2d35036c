"""Policy versions: recorded atomically with each changing apply; rollback restores exactly."""

from __future__ import annotations

import pytest

from menshen.errors import ConfigError, NotFound
from menshen.manifest import apply_manifests, export_manifests, parse_manifests
from menshen.manifest.versions import Recorded, apply_and_record, rollback
from menshen.store.api import TenantStore
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.manifest.conftest import FIRM

HEAD = "apiVersion: menshen.dev/v1\n"

# B: changes a policy and a group's settings, adds an IP list, an app and its policy.
CHANGES = f"""\
{HEAD}kind: Group
metadata: {{name: contractors}}
spec: {{description: Contractors (reviewed), mfaRequired: true}}
---
{HEAD}kind: IPList
metadata: {{name: office}}
spec: {{networks: [10.0.0.0/8]}}
---
{HEAD}kind: App
metadata: {{name: monitoring}}
spec: {{hosts: [grafana.example.tw], upstream: "http://10.0.0.9:3000"}}
---
{HEAD}kind: Policy
metadata: {{name: monitoring-access}}
spec:
  app: monitoring
  rules:
    - name: ops-from-office
      groups: [ops]
      when: {{source: [office]}}
---
{HEAD}kind: Policy
metadata: {{name: settlement-access}}
spec:
  app: settlement
  rules:
    - name: ops-only
      groups: [ops]
"""


def apply_text(store: TenantStore, text: str, clock: FixedClock, message: str = "") -> Recorded:
    manifests = parse_manifests(text, "firm.yaml", known_apps=None)
    return apply_and_record(
        store, manifests, clock=clock, author="cli:mei", source="firm.yaml", message=message
    )


def test_first_apply_records_version_one(firm: TenantStore, clock: FixedClock) -> None:
    """The first apply records the whole exported config as version 1, with who and why."""
    recorded = apply_text(firm, FIRM, clock, "initial policy")
    assert recorded.version is not None
    assert recorded.version.version == 1
    assert recorded.version.document == export_manifests(firm)
    assert (recorded.version.author, recorded.version.source) == ("cli:mei", "firm.yaml")
    assert recorded.version.message == "initial policy"
    assert recorded.version.created_at == clock.now()


def test_an_unchanged_apply_records_nothing(firm: TenantStore, clock: FixedClock) -> None:
    """Applying the same file again keeps the history at one version."""
    apply_text(firm, FIRM, clock)
    again = apply_text(firm, FIRM, clock)
    assert not again.report.changed
    assert again.version is None
    assert [record.version for record in firm.policy_versions.list()] == [1]


def test_a_changing_apply_records_the_whole_config(firm: TenantStore, clock: FixedClock) -> None:
    """Version 2 holds the objects of both files, not just the second one."""
    apply_text(firm, FIRM, clock)
    clock.advance(60)
    recorded = apply_text(firm, CHANGES, clock)
    assert recorded.version is not None
    assert recorded.version.version == 2
    document = recorded.version.document
    assert "name: wiki" in document
    assert "name: monitoring" in document


def test_a_failing_apply_changes_and_records_nothing(firm: TenantStore, clock: FixedClock) -> None:
    """A file that does not validate leaves config and history exactly as they were."""
    apply_text(firm, FIRM, clock)
    before = (export_manifests(firm), list(firm.policy_versions.list()))
    bad = (
        CHANGES + f"---\n{HEAD}kind: Group\nmetadata: {{name: ghosts}}\nspec: {{members: [zed]}}\n"
    )
    with pytest.raises(ConfigError, match="zed"):
        apply_text(firm, bad, clock)
    assert (export_manifests(firm), list(firm.policy_versions.list())) == before


def test_a_store_failure_while_recording_undoes_the_apply(
    firm: TenantStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the version cannot be written, the objects written before it are rolled back."""
    apply_text(firm, FIRM, clock)
    before = export_manifests(firm)

    def refuse(**_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(firm.policy_versions, "add", refuse)
    with pytest.raises(RuntimeError):
        apply_text(firm, CHANGES, clock)
    assert export_manifests(firm) == before


def test_rollback_restores_the_version_exactly(firm: TenantStore, clock: FixedClock) -> None:
    """Apply A, apply B, roll back to 1: the export equals A's export again."""
    apply_text(firm, FIRM, clock)
    exported_a = export_manifests(firm)
    apply_text(firm, CHANGES, clock)
    assert export_manifests(firm) != exported_a
    clock.advance(60)
    report = rollback(firm, 1, clock=clock, author="cli:mei", message="bad change")
    assert export_manifests(firm) == exported_a
    assert set(report.removed) == {"App/monitoring", "Policy/monitoring-access", "IPList/office"}
    assert "Policy/settlement-access" in report.applied.updated
    assert "Group/contractors" in report.applied.updated
    assert report.version.version == 3
    assert report.version.message == "rollback to 1: bad change"
    assert report.version.document == exported_a
    assert report.kept == ()


def test_rollforward_to_a_later_version_restores_it_too(
    firm: TenantStore, clock: FixedClock
) -> None:
    """After rolling back to 1, rolling to 2 brings B's objects back."""
    apply_text(firm, FIRM, clock)
    apply_text(firm, CHANGES, clock)
    exported_b = export_manifests(firm)
    rollback(firm, 1, clock=clock, author="cli:mei")
    report = rollback(firm, 2, clock=clock, author="cli:mei")
    assert export_manifests(firm) == exported_b
    assert report.removed == ()
    assert [record.version for record in firm.policy_versions.list()] == [1, 2, 3, 4]


def test_rollback_keeps_groups_and_memberships(firm: TenantStore, clock: FixedClock) -> None:
    """A group or member added after the version stays, and the report names it."""
    apply_text(firm, FIRM, clock)
    more = f"{HEAD}kind: Group\nmetadata: {{name: ops}}\nspec: {{members: [carol]}}\n---\n"
    more += f"{HEAD}kind: Group\nmetadata: {{name: auditors}}\nspec: {{members: [carol]}}\n"
    apply_text(firm, more, clock)
    report = rollback(firm, 1, clock=clock, author="cli:mei")
    assert report.kept == ("Group/auditors", "Group/ops member carol")
    ops = firm.groups.by_name("ops")
    assert ops is not None
    assert {user.username for user in firm.groups.members(ops.id)} == {"alice", "bob", "carol"}


def test_rollback_to_an_unknown_version_changes_nothing(
    firm: TenantStore, clock: FixedClock
) -> None:
    """NotFound names the versions there are; config and history are untouched."""
    apply_text(firm, FIRM, clock)
    before = (export_manifests(firm), list(firm.policy_versions.list()))
    with pytest.raises(NotFound, match="versions are 1 to 1"):
        rollback(firm, 7, clock=clock, author="cli:mei")
    assert (export_manifests(firm), list(firm.policy_versions.list())) == before


def test_rollback_moves_the_tenant_revision(
    store: SqlStore, firm: TenantStore, clock: FixedClock
) -> None:
    """Running gateways see the rollback through the tenant revision."""
    apply_text(firm, FIRM, clock)
    apply_text(firm, CHANGES, clock)
    before = store.revisions()["t1"]
    rollback(firm, 1, clock=clock, author="cli:mei")
    assert store.revisions()["t1"] > before


def test_config_from_before_versioning_gets_version_one(
    firm: TenantStore, clock: FixedClock
) -> None:
    """An unchanged apply still records version 1 when the tenant has no history yet."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    recorded = apply_text(firm, FIRM, clock)
    assert not recorded.report.changed
    assert recorded.version is not None
    assert recorded.version.version == 1


def test_rollback_to_an_empty_version_removes_every_app_and_policy(
    firm: TenantStore, clock: FixedClock
) -> None:
    """Version 1 of an empty file holds nothing; rolling back to it empties the config."""
    apply_text(firm, "", clock)
    apply_text(firm, FIRM, clock)
    report = rollback(firm, 1, clock=clock, author="cli:mei")
    assert "App/wiki" in report.removed
    assert list(firm.config.list()) == []
    assert "Group/ops" in report.kept
