"""The policy language in YAML: the worked example, round trips, and every bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from menshen.errors import ConfigError
from menshen.manifest import (
    AppSpec,
    IPListSpec,
    PolicySpec,
    apply_manifests,
    export_manifests,
    parse_manifests,
)
from menshen.manifest.load import compile_tenant_policy, load_tenant_config
from menshen.manifest.parse import MAX_BYTES
from menshen.manifest.yamltext import LocatedError
from menshen.policy import AccessRequest, Device, Effect, Subject
from menshen.policy.compile import CompiledPolicy
from menshen.store.api import TenantStore
from menshen.testing import FixedClock

EXAMPLE = Path(__file__).parents[2] / "examples" / "formosa-pay-policy.yaml"
HEAD = "apiVersion: menshen.dev/v1\n"
APP = f"{HEAD}kind: App\nmetadata: {{name: settlement}}\nspec:\n  hosts: [s.example.tw]\n"
APP += "  upstream: http://10.0.0.5:8080\n---\n"
# Tuesday 2026-01-06 10:00 in Taipei.
TUESDAY_10 = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)
ALICE = Subject("u-alice", "alice", "alice@formosa-pay.tw", frozenset({"finance-ops", "staff"}))
CAROL = Subject("u-carol", "carol", "carol@partner.tw", frozenset({"contractors"}))
BANK_A = Subject("c-bank-a", "bank-a", "", frozenset(), kind="client")
LAPTOP = Device("d-1", "managed", posture={"diskEncrypted": True})


def example_policy() -> CompiledPolicy:
    manifests = parse_manifests(EXAMPLE.read_text(), str(EXAMPLE))
    specs = [manifest.spec for manifest in manifests]
    return compile_tenant_policy(
        "t1",
        [spec for spec in specs if isinstance(spec, PolicySpec)],
        [spec for spec in specs if isinstance(spec, AppSpec)],
        [spec for spec in specs if isinstance(spec, IPListSpec)],
    )


def at(app: str, path: str, subject: Subject = ALICE, **changes: object) -> AccessRequest:
    values: dict[str, object] = {
        "tenant_id": "t1",
        "app": app,
        "method": "GET",
        "path": path,
        "source_ip": "10.20.3.4",
        "now": TUESDAY_10,
        "subject": subject,
        "mfa_method": "webauthn",
        "mfa_at": TUESDAY_10 - timedelta(minutes=10),
        "device": LAPTOP,
    }
    values.update(changes)
    return AccessRequest(**values)  # type: ignore[arg-type]


def test_worked_example_settlement_needs_everything_at_once() -> None:
    """finance-ops + WebAuthn within 15 min + managed device + office hours + office network."""
    compiled = example_policy()
    decision = compiled.decide(at("settlement", "/reports"))
    assert decision.allowed
    assert decision.rule == "settlement-access/finance-ops-at-the-office"
    assert decision.rule_id == "SET-010"
    assert not compiled.decide(at("settlement", "/reports", device=None)).allowed
    saturday = TUESDAY_10 + timedelta(days=4)
    assert not compiled.decide(at("settlement", "/reports", now=saturday)).allowed
    assert not compiled.decide(at("settlement", "/reports", source_ip="8.8.8.8")).allowed


def test_worked_example_explains_a_saturday_denial() -> None:
    """The trace names the named block that failed and the local time it judged."""
    saturday = TUESDAY_10 + timedelta(days=4)
    decision = example_policy().decide(at("settlement", "/reports", now=saturday))
    traces = {trace.rule_id: trace for trace in decision.considered}
    assert traces["SET-010"].failed == (
        "office-hours: requires Mon–Fri 08:30–19:00 Asia/Taipei time; it is Sat 10:00 there"
    )
    assert traces["SET-001"].failed == ("requires group contractors; you are in finance-ops, staff")
    assert traces["SET-010"].owner == "finance-lead@formosa-pay.tw"


def test_worked_example_asks_for_fresh_webauthn_in_words() -> None:
    """TOTP three hours ago is a step-up, explained in the user's terms."""
    stale = at("settlement", "/reports", mfa_method="totp", mfa_at=TUESDAY_10 - timedelta(hours=3))
    decision = example_policy().decide(stale)
    assert decision.effect is Effect.STEP_UP
    assert decision.reasons[0].startswith(
        "Requires WebAuthn within 15 minutes; your last MFA was TOTP 3 h ago"
    )


def test_worked_example_payout_approval_steps_up_after_five_minutes() -> None:
    """POST to restricted card data wants a WebAuthn touch within 5 minutes."""
    compiled = example_policy()
    decision = compiled.decide(at("settlement", "/payouts/9", method="POST"))
    assert (decision.effect, decision.rule_id) == (Effect.STEP_UP, "SET-003")
    fresh = at("settlement", "/payouts/9", method="POST", mfa_at=TUESDAY_10)
    assert compiled.decide(fresh).allowed


def test_worked_example_contractors_reach_the_wiki_only() -> None:
    """A contractor is refused settlement (explicitly) and the wiki admin, but reads the wiki."""
    compiled = example_policy()
    settlement = compiled.decide(at("settlement", "/reports", CAROL))
    assert settlement.rule_id == "SET-001"
    assert compiled.decide(at("wiki", "/pages/1", CAROL)).allowed
    assert not compiled.decide(at("wiki", "/admin/users", CAROL)).allowed
    assert not compiled.decide(at("partner-api", "/v1/reports", CAROL)).allowed


def test_worked_example_partner_clients_only_their_scopes() -> None:
    """bank-a reads reports with its scope from its network, and nothing else."""
    compiled = example_policy()
    scoped = {"scopes": frozenset({"reports:read"}), "source_ip": "198.51.100.7"}
    assert compiled.decide(at("partner-api", "/v1/reports", BANK_A, **scoped)).allowed
    assert not compiled.decide(at("partner-api", "/v1/payouts", BANK_A, **scoped)).allowed
    assert not compiled.decide(at("partner-api", "/v1/reports", BANK_A)).allowed
    outside = {**scoped, "source_ip": "8.8.8.8"}
    assert compiled.decide(at("partner-api", "/v1/reports", BANK_A, **outside)).rule_id == "API-001"
    assert not compiled.decide(at("wiki", "/", BANK_A, **scoped)).allowed


def test_worked_example_applies_and_exports_as_unchanged(
    tenant_store: TenantStore,
) -> None:
    """The example applies, loads back to the same decisions, and export re-applies unchanged."""
    clock = FixedClock(TUESDAY_10)
    manifests = parse_manifests(EXAMPLE.read_text(), "example.yaml")
    apply_manifests(tenant_store, manifests, clock=clock)
    loaded = load_tenant_config(tenant_store).policy
    assert loaded.decide(at("settlement", "/reports")).allowed
    again = parse_manifests(export_manifests(tenant_store), "export.yaml", known_apps=None)
    report = apply_manifests(tenant_store, again, clock=clock)
    assert not report.changed


def policy_doc(rules: str, extra: str = "") -> str:
    head = f"{APP}{HEAD}kind: Policy\nmetadata: {{name: p}}\nspec:\n  app: settlement\n"
    return f"{head}{extra}  rules:\n{rules}"


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_manifests(text, "firm.yaml")
    return caught.value


@pytest.mark.parametrize(
    ("rules", "extra", "where", "message"),
    [
        (
            "    - name: r\n      when: {time: {days: [mon], from: '18:00', to: '09:00'}}\n",
            "",
            (15, 49),
            "ends before it starts (set overnight: true?)",
        ),
        (
            "    - name: r\n      when: {time: {days: [mon], from: '09:00', to: '18:00', "
            "zone: Mars/Base}}\n",
            "",
            (15, 62),
            "unknown time zone 'Mars/Base'",
        ),
        (
            "    - name: r\n      when: {time: {days: [funday], from: '09:00', to: '18:00'}}\n",
            "",
            (15, 28),
            "bad weekday 'funday'",
        ),
        (
            "    - name: r\n      when: {time: {days: [mon], from: 09:00, to: 18:30}}\n",
            "",
            (15, 47),
            "write the time in quotes",
        ),
        (
            "    - name: r\n      when: {source: [10.1.2.3/8]}\n",
            "",
            (15, 23),
            "invalid CIDR '10.1.2.3/8'",
        ),
        ("    - name: r\n      when: {colour: red}\n", "", (15, 14), "unknown condition 'colour'"),
        (
            "    - name: r\n      when: {device: {trust: rooted}}\n",
            "",
            (15, 23),
            "unknown trust level 'rooted'",
        ),
        (
            "    - name: r\n      when: {mfa: {}}\n",
            "",
            (15, 14),
            "mfa belongs on the rule",
        ),
        ("    - name: r\n      when: {use: nowhere}\n", "", (15, 7), "unknown named condition"),
        (
            "    - name: r\n",
            "  conditions:\n    a: {use: b}\n    b: {not: {use: a}}\n",
            (14, 5),
            "named conditions form a cycle: a → b → a",
        ),
        ("    - name: r\n      colour: red\n", "", (15, 7), "spec.rules.0.colour: unknown field"),
        ("    - name: r\n      groups: ops\n", "", (15, 7), "Input should be a valid list"),
        (
            "    - name: r\n      effect: step_up\n",
            "",
            (14, 7),
            "a step_up rule needs mfa",
        ),
        (
            "    - name: r\n      when: {risk: {below: 500}}\n",
            "",
            (15, 21),
            "expected a risk score from 0 to 100",
        ),
        ("    - name: r\n", "  timeZone: Nowhere/Town\n", (13, 3), "unknown time zone"),
    ],
)
def test_bad_policy_input_names_file_line_column_and_what_is_expected(
    rules: str, extra: str, where: tuple[int, int], message: str
) -> None:
    """Each mistake is one ConfigError at file:line:column, saying what was expected."""
    error = error_of(policy_doc(rules, extra))
    assert message in error.message
    assert isinstance(error, LocatedError)
    assert (error.line, error.column) == where
    assert str(error).startswith(f"firm.yaml:{where[0]}:{where[1]}: ")


def test_absurdly_nested_conditions_are_refused() -> None:
    """A condition nested a hundred levels deep is a clear error, not a crash."""
    when = "{not: " * 100 + "{risk: {below: 5}}" + "}" * 100
    error = error_of(policy_doc(f"    - name: r\n      when: {when}\n"))
    assert "nested more than 64 levels deep" in error.message


def test_huge_file_is_refused_before_parsing() -> None:
    """A file over the size cap is a ConfigError, whatever it contains."""
    error = error_of("# " + "x" * MAX_BYTES + "\n")
    assert "larger than" in error.message


def test_unknown_group_or_ip_list_is_refused_at_apply_and_nothing_changes(
    tenant_store: TenantStore,
) -> None:
    """A Policy naming a group or IP list nobody defined changes nothing."""
    clock = FixedClock(TUESDAY_10)
    group = f"{HEAD}kind: Group\nmetadata: {{name: ops}}\nspec: {{}}\n---\n"
    good = parse_manifests(group + policy_doc("    - name: r\n      groups: [ops]\n"), "a.yaml")
    apply_manifests(tenant_store, good, clock=clock)
    before = tuple(tenant_store.config.list())
    for rules in (
        "    - name: r\n      groups: [opps]\n",
        "    - name: r\n      when: {source: [office]}\n",
    ):
        bad = parse_manifests(policy_doc(rules), "b.yaml")
        with pytest.raises(ConfigError, match="neither in"):
            apply_manifests(tenant_store, bad, clock=clock)
        assert tuple(tenant_store.config.list()) == before


def test_stored_ip_list_is_usable_by_a_later_policy(tenant_store: TenantStore) -> None:
    """An IPList applied earlier is found when a Policy using it is applied."""
    clock = FixedClock(TUESDAY_10)
    ip_list = f"{HEAD}kind: IPList\nmetadata: {{name: office}}\nspec: {{networks: [10.0.0.0/8]}}\n"
    apply_manifests(tenant_store, parse_manifests(ip_list, "a.yaml"), clock=clock)
    policy = parse_manifests(policy_doc("    - name: r\n      when: {source: [office]}\n"), "b")
    apply_manifests(tenant_store, policy, clock=clock)
    compiled = load_tenant_config(tenant_store).policy
    assert compiled.decide(at("settlement", "/", source_ip="10.9.9.9")).allowed
    assert not compiled.decide(at("settlement", "/", source_ip="11.0.0.1")).allowed


def test_conditions_render_canonically_and_parse_back_equal() -> None:
    """Implicit all, day ranges and atLeast normalise; the JSON re-parses to the same spec."""
    rules = (
        "    - name: r\n      when:\n        device: {trust: managed, tags: [laptop]}\n"
        "        time: {days: [mon-wed, fri], from: '09:00', to: '24:00'}\n"
        "        data: {atLeast: confidential}\n"
        "        any: [{country: [TW]}, {not: {header: {name: X-Debug}}}]\n"
    )
    spec = parse_manifests(policy_doc(rules), "a.yaml")[1].spec
    assert isinstance(spec, PolicySpec)
    body = spec.to_json()
    when = body["rules"][0]["when"]
    assert when["all"][1] == {
        "time": {
            "days": ["mon", "tue", "wed", "fri"],
            "from": "09:00",
            "to": "24:00",
            "zone": "Asia/Taipei",
        }
    }
    assert when["all"][2] == {"data": {"sensitivity": ["confidential", "restricted"]}}
    from menshen.manifest.schema import spec_of

    assert spec_of("Policy", "p", body) == spec


def test_false_posture_survives_export_and_reapply(tenant_store: TenantStore) -> None:
    """Export keeps ``diskEncrypted: false`` in conditions, so re-apply is unchanged."""
    clock = FixedClock(TUESDAY_10)
    rules = "    - name: r\n      when: {device: {posture: {jailbroken: false}}}\n"
    apply_manifests(tenant_store, parse_manifests(policy_doc(rules), "a.yaml"), clock=clock)
    exported = export_manifests(tenant_store)
    assert "jailbroken: false" in exported
    again = parse_manifests(exported, "export.yaml", known_apps=None)
    assert not apply_manifests(tenant_store, again, clock=clock).changed
