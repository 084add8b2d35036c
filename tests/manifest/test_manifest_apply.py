"""Applying manifests: validate all, then write; idempotent; nothing half-applied."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from menshen.errors import ConfigError
from menshen.manifest import ApplyReport, AppSpec, apply_manifests, parse_manifests
from menshen.store.api import TenantStore
from menshen.store.records import ConfigObjectRecord, GroupRecord
from menshen.testing import FixedClock
from tests.manifest.conftest import FIRM

HEAD = "apiVersion: menshen.dev/v1\n"


def snapshot(store: TenantStore) -> tuple[object, ...]:
    groups = sorted(store.groups.list(), key=lambda group: group.name)
    members = {
        group.name: sorted(u.username for u in store.groups.members(group.id)) for group in groups
    }
    return (tuple(store.config.list()), tuple(groups), members)


def apply_text(store: TenantStore, text: str, clock: FixedClock) -> ApplyReport:
    manifests = parse_manifests(text, "firm.yaml", known_apps=None)
    return apply_manifests(store, manifests, clock=clock)


def test_first_apply_creates_everything_in_kind_order(firm: TenantStore, clock: FixedClock) -> None:
    """Groups, then Apps, then Policies are created, and the report says so."""
    report = apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    assert report.created == (
        "Group/ops",
        "Group/contractors",
        "App/settlement",
        "App/wiki",
        "Policy/settlement-access",
    )
    assert report.updated == ()
    assert report.changed
    app = firm.config.get("App", "settlement")
    assert app is not None
    assert app.updated_at == clock.now()
    assert app.spec["upstream"] == "http://10.0.0.5:8080"
    ops = firm.groups.by_name("ops")
    assert ops is not None
    assert ops.mfa_required
    assert sorted(user.username for user in firm.groups.members(ops.id)) == ["alice", "bob"]


def test_applying_the_same_file_twice_changes_nothing(firm: TenantStore, clock: FixedClock) -> None:
    """The second apply reports every object unchanged and writes nothing."""
    manifests = parse_manifests(FIRM, "firm.yaml")
    apply_manifests(firm, manifests, clock=clock)
    before = snapshot(firm)
    clock.advance(3600)
    again = apply_manifests(firm, manifests, clock=clock)
    assert again.created == again.updated == ()
    assert len(again.unchanged) == 5
    assert not again.changed
    assert snapshot(firm) == before


def test_equivalent_spelling_is_unchanged(firm: TenantStore, clock: FixedClock) -> None:
    """Reordered lists, lower-case methods and 720m for 12h mean the same policy."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    respelt = FIRM.replace("methods: [get, HEAD]", "methods: [HEAD, GET]").replace(
        "maxAge: 12h", "maxAge: 720m"
    )
    report = apply_manifests(firm, parse_manifests(respelt, "firm.yaml"), clock=clock)
    assert not report.changed


def test_changed_objects_are_reported_updated(firm: TenantStore, clock: FixedClock) -> None:
    """Changing an App and a Group's description updates just those two."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    edited = FIRM.replace("title: Settlement admin", "title: Settlement").replace(
        "Outside contractors", "Contractors"
    )
    clock.advance(60)
    report = apply_manifests(firm, parse_manifests(edited, "firm.yaml"), clock=clock)
    assert report.updated == ("Group/contractors", "App/settlement")
    app = firm.config.get("App", "settlement")
    assert app is not None
    assert app.spec["title"] == "Settlement"
    assert app.updated_at == clock.now()
    contractors = firm.groups.by_name("contractors")
    assert contractors is not None
    assert contractors.description == "Contractors"


def test_listed_members_are_added_and_others_kept(firm: TenantStore, clock: FixedClock) -> None:
    """Membership in a file adds people; it never removes anyone."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    edited = FIRM.replace("members: [alice, bob]", "members: [carol]")
    report = apply_manifests(firm, parse_manifests(edited, "firm.yaml"), clock=clock)
    assert report.updated == ("Group/ops",)
    ops = firm.groups.by_name("ops")
    assert ops is not None
    assert sorted(u.username for u in firm.groups.members(ops.id)) == ["alice", "bob", "carol"]


def test_existing_group_is_adopted_not_duplicated(firm: TenantStore, clock: FixedClock) -> None:
    """A group made elsewhere (console, identity) is updated in place, keeping its id."""
    firm.groups.add(GroupRecord("t1", "existing-id", "ops", "old", mfa_required=False))
    report = apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    assert report.updated == ("Group/ops",)
    ops = firm.groups.by_name("ops")
    assert ops == GroupRecord("t1", "existing-id", "ops", "Operations engineers", True)


def test_dry_run_reports_without_writing(firm: TenantStore, clock: FixedClock) -> None:
    """A dry run says what would happen and leaves the store as it was."""
    before = snapshot(firm)
    report = apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock, dry_run=True)
    assert report.dry_run
    assert len(report.created) == 5
    assert snapshot(firm) == before


def test_unknown_member_fails_before_any_write(firm: TenantStore, clock: FixedClock) -> None:
    """A group listing a non-user is refused and nothing at all is written."""
    bad = FIRM.replace("members: [alice, bob]", "members: [alice, mallory]")
    before = snapshot(firm)
    with pytest.raises(ConfigError, match="member 'mallory'") as caught:
        apply_manifests(firm, parse_manifests(bad, "firm.yaml"), clock=clock)
    assert (caught.value.source, caught.value.line) == ("firm.yaml", 2)
    assert snapshot(firm) == before


def test_bad_later_object_leaves_earlier_ones_unwritten(
    firm: TenantStore, clock: FixedClock
) -> None:
    """An App clashing with a stored one stops the whole apply, including valid Groups."""
    firm.config.put(
        ConfigObjectRecord(
            "t1",
            "App",
            "legacy",
            {"hosts": ["intra.example.tw"], "pathPrefix": "/wiki", "upstream": "http://old:80"},
            datetime(2025, 1, 1, tzinfo=UTC),
        )
    )
    before = snapshot(firm)
    with pytest.raises(ConfigError, match="already claimed by stored App/legacy") as caught:
        apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    assert caught.value.line == 27
    assert snapshot(firm) == before


def test_replacing_a_stored_app_may_keep_its_route(firm: TenantStore, clock: FixedClock) -> None:
    """An App re-applied under its own name does not clash with its stored self."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    moved = FIRM.replace("http://10.0.0.5:8080", "http://10.0.0.6:8080")
    report = apply_manifests(firm, parse_manifests(moved, "firm.yaml"), clock=clock)
    assert report.updated == ("App/settlement",)


def test_policy_for_an_app_already_stored_is_accepted(firm: TenantStore, clock: FixedClock) -> None:
    """A Policy file may target an App applied earlier from another file."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    text = HEAD + "kind: Policy\nmetadata: {name: wiki-read}\nspec:\n  app: wiki\n"
    text += "  rules: [{name: all}]\n"
    report = apply_text(firm, text, clock)
    assert report.created == ("Policy/wiki-read",)
    assert firm.config.get("Policy", "wiki-read") is not None


def test_policy_for_an_unknown_app_is_refused(firm: TenantStore, clock: FixedClock) -> None:
    """A Policy whose App is neither in the files nor stored fails, naming its line."""
    text = HEAD + "kind: Policy\nmetadata: {name: p}\nspec: {app: payroll}\n"
    with pytest.raises(ConfigError, match="app 'payroll'") as caught:
        apply_text(firm, text, clock)
    assert (caught.value.source, caught.value.line) == ("firm.yaml", 1)
    assert firm.config.list() == []


def test_duplicates_across_files_are_refused(firm: TenantStore, clock: FixedClock) -> None:
    """The same object from two files is an error, citing the first."""
    one = parse_manifests(FIRM, "a.yaml")
    two = parse_manifests(FIRM, "b.yaml")
    with pytest.raises(ConfigError, match=r"duplicate Group/ops \(first defined at a.yaml:2\)"):
        apply_manifests(firm, [*one, *two], clock=clock)


def test_invalid_stored_object_is_reported(firm: TenantStore, clock: FixedClock) -> None:
    """A stored App that no longer validates stops apply rather than being ignored."""
    firm.config.put(ConfigObjectRecord("t1", "App", "broken", {"hosts": []}, clock.now()))
    with pytest.raises(ConfigError, match="stored App/broken is invalid"):
        apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)


def test_group_ids_come_from_the_injected_source(firm: TenantStore, clock: FixedClock) -> None:
    """New group ids are made by ``new_id``."""
    made = iter(["id-1", "id-2"])
    apply_manifests(
        firm, parse_manifests(FIRM, "firm.yaml"), clock=clock, new_id=lambda: next(made)
    )
    ops = firm.groups.by_name("ops")
    contractors = firm.groups.by_name("contractors")
    assert ops is not None
    assert contractors is not None
    assert (ops.id, contractors.id) == ("id-1", "id-2")


def test_stored_spec_is_the_normalised_json(firm: TenantStore, clock: FixedClock) -> None:
    """Apps are stored with every field spelt out, so a changed default shows as a change."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    wiki = firm.config.get("App", "wiki")
    assert wiki is not None
    expected = AppSpec(
        name="wiki",
        hosts=("intra.example.tw",),
        path_prefix="/wiki",
        upstream="https://wiki.internal:443",
        upstream_scheme="https",
        upstream_host="wiki.internal",
        upstream_port=443,
        title="wiki",
        preserve_host=True,
    )
    assert wiki.spec == expected.to_json()
    assert wiki.spec["maxBodyBytes"] is None
