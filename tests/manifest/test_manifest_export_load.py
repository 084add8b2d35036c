"""Export re-applies as unchanged; load gives the gateway its apps and compiled policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from menshen.errors import ConfigError
from menshen.manifest import (
    GroupSpec,
    PolicySpec,
    RuleSpec,
    apply_manifests,
    export_manifests,
    load_tenant_config,
    parse_manifests,
)
from menshen.policy import AccessRequest, Effect, Subject
from menshen.store.api import TenantStore
from menshen.store.records import ConfigObjectRecord, GroupRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.manifest.conftest import FIRM, make_user

EFFECTS: list[Literal["allow", "deny"]] = ["allow", "deny"]


def test_export_then_apply_is_unchanged(firm: TenantStore, clock: FixedClock) -> None:
    """What export writes, apply takes back without a single change."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    exported = export_manifests(firm)
    report = apply_manifests(firm, parse_manifests(exported, "export.yaml"), clock=clock)
    assert len(report.unchanged) == 5
    assert not report.changed
    assert export_manifests(firm) == exported


def test_export_is_compact_and_readable(firm: TenantStore, clock: FixedClock) -> None:
    """Defaults are left out; kinds come in apply order, each sorted by name."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    exported = export_manifests(firm)
    documents = list(yaml.safe_load_all(exported))
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("Group", "contractors"),
        ("Group", "ops"),
        ("App", "settlement"),
        ("App", "wiki"),
        ("Policy", "settlement-access"),
    ]
    assert documents[0]["spec"] == {"description": "Outside contractors"}
    deny_rule = documents[4]["spec"]["rules"][0]
    assert deny_rule == {"name": "no-contractors", "effect": "deny", "groups": ["contractors"]}
    assert "public" not in documents[2]["spec"]


def test_export_into_an_empty_tenant_applies_as_created(
    firm: TenantStore, sqlite_store: SqlStore, clock: FixedClock
) -> None:
    """An export is a backup: applied to a fresh tenant it recreates every object."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    exported = export_manifests(firm)
    fresh = sqlite_store.tenant("t1")
    for name in ("alice", "bob"):
        fresh.users.add(make_user(name))
    report = apply_manifests(fresh, parse_manifests(exported, "export.yaml"), clock=clock)
    assert len(report.created) == 5
    assert export_manifests(fresh) == exported


def test_export_skips_groups_that_manifests_cannot_express(
    firm: TenantStore, clock: FixedClock
) -> None:
    """A federated group with an upper-case name is noted in a comment, not exported."""
    firm.groups.add(GroupRecord("t1", "fed", "Finance Team", "from the IdP", False))
    exported = export_manifests(firm)
    assert "# skipped group 'Finance Team'" in exported
    assert parse_manifests(exported, "export.yaml") == []


def test_load_gives_apps_and_a_compiled_policy(firm: TenantStore, clock: FixedClock) -> None:
    """The gateway's view: apps by name, and a policy that decides."""
    apply_manifests(firm, parse_manifests(FIRM, "firm.yaml"), clock=clock)
    config = load_tenant_config(firm)
    assert [app.name for app in config.apps] == ["settlement", "wiki"]
    assert config.apps[0].upstream_port == 8080
    now = clock.now()
    alice = Subject("id-alice", "alice", "alice@example.tw", frozenset({"ops"}))
    carol = Subject("id-carol", "carol", "carol@example.tw", frozenset({"contractors"}))

    def ask(subject: Subject, path: str, mfa_age: timedelta | None) -> tuple[Effect, str | None]:
        request = AccessRequest(
            tenant_id="t1",
            app="settlement",
            method="POST",
            path=path,
            source_ip="10.2.3.4",
            now=now,
            subject=subject,
            mfa_method=None if mfa_age is None else "totp",
            mfa_at=None if mfa_age is None else now - mfa_age,
        )
        decision = config.policy.decide(request)
        return (decision.effect, decision.rule)

    admin = "settlement-access/ops-admin"
    assert ask(alice, "/admin/payouts", timedelta(hours=1)) == (Effect.ALLOW, admin)
    assert ask(alice, "/admin/payouts", timedelta(hours=13)) == (Effect.STEP_UP, admin)
    assert ask(alice, "/reports", timedelta(hours=1)) == (Effect.DENY, None)
    assert ask(carol, "/admin", timedelta(hours=1)) == (
        Effect.DENY,
        "settlement-access/no-contractors",
    )


def test_load_of_an_empty_tenant_denies_everything(firm: TenantStore) -> None:
    """No apps and no policies: every decision is a denial."""
    config = load_tenant_config(firm)
    assert config.apps == ()
    assert config.policy.apps == {}


def test_load_refuses_an_invalid_stored_object(firm: TenantStore, clock: FixedClock) -> None:
    """A stored Policy that no longer validates is a ConfigError, not a silent skip."""
    bad = {"app": "settlement", "rules": [{"name": "x", "sourceNetworks": ["10.0.0.1/8"]}]}
    firm.config.put(ConfigObjectRecord("t1", "Policy", "p", bad, clock.now()))
    with pytest.raises(ConfigError, match="stored Policy/p is invalid"):
        load_tenant_config(firm)


NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9]", fullmatch=True)
PATHS = st.sampled_from(["/", "/admin", "/api/v1", "/x_y/z.txt", "/%2F"])
NETS = st.sampled_from(["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "0.0.0.0/0"])


@st.composite
def rule_specs(draw: st.DrawFn, name: str) -> RuleSpec:
    effect = draw(st.sampled_from(EFFECTS))
    max_age = draw(st.sampled_from([None, "30m", "12h", "1d", "1h30m"]))
    allow = effect == "allow"
    return RuleSpec(
        name=name,
        effect=effect,
        users=tuple(sorted(draw(st.sets(NAMES, max_size=2)))),
        groups=tuple(sorted(draw(st.sets(NAMES, max_size=2)))),
        methods=tuple(sorted(draw(st.sets(st.sampled_from(["GET", "POST", "PROPFIND"]))))),
        paths=tuple(sorted(draw(st.sets(PATHS, max_size=2)))),
        source_networks=tuple(sorted(draw(st.sets(NETS, max_size=2)))),
        mfa_required=allow and (max_age is not None or draw(st.booleans())),
        mfa_max_age=max_age if allow else None,
    )


@st.composite
def policy_specs(draw: st.DrawFn) -> PolicySpec:
    names = draw(st.lists(NAMES, unique=True, max_size=4))
    return PolicySpec("p", draw(NAMES), tuple(draw(rule_specs(name)) for name in names))


def _document(kind: str, name: str, spec: object) -> str:
    body = {"apiVersion": "menshen.dev/v1", "kind": kind, "metadata": {"name": name}}
    return yaml.safe_dump({**body, "spec": spec}, sort_keys=False)


@settings(max_examples=150, deadline=None)
@given(policy=policy_specs())
def test_policy_spec_survives_yaml_round_trip(policy: PolicySpec) -> None:
    """Any normalised Policy, written as YAML and parsed back, is the same value."""
    text = _document("Policy", policy.name, policy.to_json())
    parsed = parse_manifests(text, "round.yaml", known_apps=[policy.app])
    assert [manifest.spec for manifest in parsed] == [policy]


@settings(max_examples=100, deadline=None)
@given(
    name=NAMES,
    description=st.text(max_size=30),
    mfa=st.booleans(),
    members=st.none() | st.sets(NAMES, max_size=3).map(lambda found: tuple(sorted(found))),
)
def test_group_spec_survives_yaml_round_trip(
    name: str, description: str, mfa: bool, members: tuple[str, ...] | None
) -> None:
    """Any Group, including odd descriptions, round-trips through YAML."""
    group = GroupSpec(name, description, mfa, members)
    parsed = parse_manifests(_document("Group", name, group.to_json()), "round.yaml")
    assert [manifest.spec for manifest in parsed] == [group]
