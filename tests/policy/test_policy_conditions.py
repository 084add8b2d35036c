"""Every condition of the policy language, step-up rules, API clients and data labels."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from menshen.errors import InvalidInput
from menshen.policy import (
    EVALUATION_ERROR,
    AccessRequest,
    AppPolicy,
    CompiledPolicy,
    DataLabel,
    Device,
    Effect,
    Outcome,
    ResourceLabel,
    Rule,
    Subject,
    compile_policies,
)
from menshen.policy.conditions import (
    AllOf,
    AnyOf,
    Condition,
    CountryIn,
    DataIs,
    DevicePosture,
    DeviceTags,
    DeviceTrust,
    HeaderIs,
    MethodIn,
    Not,
    PathUnder,
    RiskAbove,
    RiskBelow,
    SourceIn,
    TimeWindow,
    Use,
)

# Monday 2026-01-05 02:00 UTC is Monday 10:00 in Taipei (UTC+8, no daylight saving).
MONDAY_10_TAIPEI = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
ALICE = Subject("u-alice", "alice", "alice@formosa-pay.tw", frozenset({"finance-ops"}))
CAROL = Subject("u-carol", "carol", "carol@formosa-pay.tw", frozenset({"contractors"}))
BANK_A = Subject("c-bank-a", "bank-a", "", frozenset(), kind="client")
LAPTOP = Device("d1", "managed", frozenset({"laptop"}), {"diskEncrypted": True, "os": "macos"})
OFFICE_HOURS = TimeWindow(frozenset(range(5)), 9 * 60, 18 * 60)


def request(**changes: object) -> AccessRequest:
    values: dict[str, object] = {
        "tenant_id": "t1",
        "app": "settlement",
        "method": "GET",
        "path": "/payouts",
        "source_ip": "10.20.1.2",
        "now": MONDAY_10_TAIPEI,
        "subject": ALICE,
        "mfa_method": "webauthn",
        "mfa_at": MONDAY_10_TAIPEI - timedelta(minutes=5),
        "device": LAPTOP,
    }
    values.update(changes)
    return AccessRequest(**values)  # type: ignore[arg-type]


def only(when: Condition, **policy: object) -> CompiledPolicy:
    """A policy whose one allow rule holds exactly when ``when`` does."""
    return compile_policies("t1", [AppPolicy("settlement", (Rule("r", when=when),), **policy)])  # type: ignore[arg-type]


def allowed(compiled: CompiledPolicy, **changes: object) -> bool:
    return compiled.decide(request(**changes)).allowed


def test_device_trust_accepts_that_level_and_better() -> None:
    """``managed`` admits managed and compliant devices, not registered or none."""
    compiled = only(DeviceTrust("managed"))
    assert allowed(compiled)
    assert allowed(compiled, device=Device("d", "compliant"))
    assert not allowed(compiled, device=Device("d", "registered"))
    assert not allowed(compiled, device=None)


def test_device_tags_must_all_be_present() -> None:
    """Every listed tag must be on the device."""
    assert allowed(only(DeviceTags(frozenset({"laptop"}))))
    assert not allowed(only(DeviceTags(frozenset({"laptop", "corp"}))))


def test_device_posture_compares_value_and_type() -> None:
    """``diskEncrypted: true`` is not satisfied by a missing attribute or by the number 1."""
    assert allowed(only(DevicePosture("diskEncrypted", True)))
    assert not allowed(only(DevicePosture("firewall", True)))
    one = Device("d", "managed", posture={"diskEncrypted": 1})
    assert not allowed(only(DevicePosture("diskEncrypted", True)), device=one)


def test_source_networks_and_named_ip_lists() -> None:
    """A source condition matches networks written inline and in named IP lists."""
    office = (ipaddress.ip_network("10.20.0.0/16"),)
    compiled = only(SourceIn(lists=("office",)), ip_lists={"office": office})
    assert allowed(compiled)
    assert not allowed(compiled, source_ip="8.8.8.8")
    assert allowed(compiled, source_ip="::ffff:10.20.9.9")


def test_negated_source_excludes_a_network() -> None:
    """``not source`` admits everything outside the network."""
    compiled = only(Not(SourceIn((ipaddress.ip_network("10.0.0.0/8"),))))
    assert allowed(compiled, source_ip="8.8.8.8")
    assert not allowed(compiled)


def test_country_from_geo_ip() -> None:
    """A country condition holds for listed countries; an unknown country never matches."""
    compiled = only(CountryIn(frozenset({"TW", "JP"})))
    assert allowed(compiled, country="TW")
    assert not allowed(compiled, country="US")
    assert not allowed(compiled, country=None)


@pytest.mark.parametrize(
    ("utc", "inside"),
    [
        (datetime(2026, 1, 5, 1, 0, tzinfo=UTC), True),  # Mon 09:00 Taipei: start inclusive
        (datetime(2026, 1, 5, 0, 59, tzinfo=UTC), False),  # Mon 08:59
        (datetime(2026, 1, 5, 10, 0, tzinfo=UTC), False),  # Mon 18:00: end exclusive
        (datetime(2026, 1, 9, 9, 59, tzinfo=UTC), True),  # Fri 17:59
        (datetime(2026, 1, 10, 2, 0, tzinfo=UTC), False),  # Sat 10:00
    ],
)
def test_time_window_in_the_named_zone(utc: datetime, inside: bool) -> None:
    """Office hours are judged on Taipei's clock, start inclusive and end exclusive."""
    assert allowed(only(OFFICE_HOURS), now=utc) is inside


def test_overnight_window_belongs_to_the_day_it_opens() -> None:
    """Fri 22:00–06:00 covers Friday night and Saturday morning, not Monday morning."""
    night = TimeWindow(frozenset({4}), 22 * 60, 6 * 60, "UTC", overnight=True)
    compiled = only(night)
    assert allowed(compiled, now=datetime(2026, 1, 9, 23, 0, tzinfo=UTC))
    assert allowed(compiled, now=datetime(2026, 1, 10, 5, 59, tzinfo=UTC))
    assert not allowed(compiled, now=datetime(2026, 1, 10, 6, 0, tzinfo=UTC))
    assert not allowed(compiled, now=datetime(2026, 1, 5, 3, 0, tzinfo=UTC))


def test_time_window_follows_daylight_saving() -> None:
    """09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer."""
    compiled = only(TimeWindow(frozenset(range(7)), 9 * 60, 10 * 60, "America/New_York"))
    assert allowed(compiled, now=datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
    assert allowed(compiled, now=datetime(2026, 7, 6, 13, 30, tzinfo=UTC))
    assert not allowed(compiled, now=datetime(2026, 7, 6, 14, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    "window",
    [
        TimeWindow(frozenset({0}), 18 * 60, 9 * 60),
        TimeWindow(frozenset({0}), 9 * 60, 18 * 60, overnight=True),
        TimeWindow(frozenset({0}), 9 * 60, 18 * 60, "Mars/Olympus"),
        TimeWindow(frozenset({7}), 9 * 60, 18 * 60),
        TimeWindow(frozenset(), 9 * 60, 18 * 60),
    ],
)
def test_impossible_time_windows_do_not_compile(window: TimeWindow) -> None:
    """Backwards windows, unknown zones and bad weekdays are refused."""
    with pytest.raises(InvalidInput):
        only(window)


def test_risk_below_and_above() -> None:
    """Risk limits are strict: below 50 admits 49.9, not 50."""
    assert allowed(only(RiskBelow(50)), risk=49.9)
    assert not allowed(only(RiskBelow(50)), risk=50)
    assert allowed(only(RiskAbove(70)), risk=71)
    assert not allowed(only(RiskAbove(70)), risk=70)


def test_a_risk_score_that_is_not_a_number_fails_closed() -> None:
    """NaN risk is an evaluation error, never a pass of a deny rule."""
    compiled = compile_policies(
        "t1",
        [AppPolicy("settlement", (Rule("all"), Rule("x", Effect.DENY, when=RiskAbove(70))))],
    )
    assert compiled.decide(request(risk=float("nan"))).reasons == (EVALUATION_ERROR,)


def test_request_attributes_method_path_and_header() -> None:
    """Method, path and header conditions test the request itself."""
    assert allowed(only(MethodIn(frozenset({"GET"}))))
    assert not allowed(only(MethodIn(frozenset({"POST"}))))
    assert allowed(only(PathUnder(("/payouts",))), path="/payouts/7")
    assert not allowed(only(PathUnder(("/payouts",))), path="/payoutsx")
    header = only(HeaderIs("x-change-ticket", frozenset({"CHG-1"})))
    assert allowed(header, headers={"x-change-ticket": "CHG-1"})
    assert not allowed(header, headers={"x-change-ticket": "CHG-2"})
    assert allowed(only(HeaderIs("x-change-ticket")), headers={"x-change-ticket": "any"})
    assert not allowed(only(HeaderIs("x-change-ticket")))


def test_combinators_all_any_not() -> None:
    """all needs every part, any one part, not the opposite."""
    trusted, weekend = DeviceTrust("managed"), TimeWindow(frozenset({5, 6}), 0, 1440)
    assert not allowed(only(AllOf((trusted, weekend))))
    assert allowed(only(AnyOf((trusted, weekend))))
    assert allowed(only(AllOf((trusted, Not(weekend)))))
    assert not allowed(only(Not(AnyOf((trusted, weekend)))))


def test_named_blocks_are_inlined_and_cycles_refused() -> None:
    """``Use`` refers to a block of the same policy; a cycle or unknown name is an error."""
    blocks: dict[str, Condition] = {"trusted": DeviceTrust("managed")}
    assert allowed(only(Use("trusted"), conditions=blocks))
    with pytest.raises(InvalidInput, match="unknown named condition 'nope'"):
        only(Use("nope"), conditions=blocks)
    cyclic: dict[str, Condition] = {"a": AllOf((Use("b"),)), "b": Not(Use("a"))}
    with pytest.raises(InvalidInput, match="cycle: a → b → a"):
        only(Use("a"), conditions=cyclic)


def test_unknown_ip_list_is_refused() -> None:
    """A source condition naming a list nobody defined does not compile."""
    with pytest.raises(InvalidInput, match="unknown IP list 'office'"):
        only(SourceIn(lists=("office",)))


def test_data_labels_come_from_paths_then_the_app() -> None:
    """The longest labelled path prefix wins; elsewhere the App's label applies."""
    restricted = DataLabel("restricted", frozenset({"card-data"}))
    compiled = compile_policies(
        "t1",
        [
            AppPolicy(
                "settlement",
                (Rule("r", when=DataIs(frozenset({"restricted"}))),),
                resources=(ResourceLabel(("/payouts",), restricted),),
            ),
            AppPolicy("settlement", (Rule("tagged", when=DataIs(tags=frozenset({"pii"}))),)),
        ],
        app_labels={"settlement": DataLabel("confidential", frozenset({"pii"}))},
    )
    assert compiled.decide(request(path="/payouts/1")).rule == "r"
    assert compiled.decide(request(path="/reports")).rule == "tagged"


def test_machine_clients_are_matched_by_name_and_scopes() -> None:
    """A client reaches only rules naming it, and only with every listed scope."""
    compiled = compile_policies(
        "t1",
        [
            AppPolicy(
                "settlement",
                (
                    Rule("people"),
                    Rule("bank", clients=frozenset({"bank-a"}), scopes=frozenset({"r:read"})),
                ),
            )
        ],
    )
    assert compiled.decide(request(subject=BANK_A, scopes=frozenset({"r:read"}))).rule == "bank"
    assert not compiled.decide(request(subject=BANK_A)).allowed
    other = Subject("c-b", "bank-b", "", frozenset(), kind="client")
    assert not compiled.decide(request(subject=other, scopes=frozenset({"r:read"}))).allowed
    assert compiled.decide(request(subject=CAROL)).rule == "people"


def test_step_up_rule_asks_for_stronger_mfa_only_when_access_is_allowed() -> None:
    """A step-up rule turns an allow into step_up, never a denial into one."""
    compiled = compile_policies(
        "t1",
        [
            AppPolicy(
                "settlement",
                (
                    Rule("finance", groups=frozenset({"finance-ops"})),
                    Rule(
                        "payouts-webauthn",
                        Effect.STEP_UP,
                        path_prefixes=("/payouts",),
                        mfa_methods=frozenset({"webauthn"}),
                        mfa_max_age=timedelta(minutes=5),
                    ),
                ),
            )
        ],
    )
    assert compiled.decide(request()).allowed
    stale = compiled.decide(request(mfa_at=MONDAY_10_TAIPEI - timedelta(minutes=6)))
    assert stale.effect is Effect.STEP_UP
    assert stale.rule == "payouts-webauthn"
    assert compiled.decide(request(subject=CAROL, mfa_method=None)).effect is Effect.DENY


def test_step_up_rule_without_mfa_does_not_compile() -> None:
    """A step-up rule must say which second factor it wants."""
    with pytest.raises(InvalidInput, match="step-up rule must say"):
        compile_policies("t1", [AppPolicy("a", (Rule("s", Effect.STEP_UP),))])


def test_mfa_methods_ask_for_webauthn_with_words_for_the_user() -> None:
    """TOTP three hours ago does not satisfy 'WebAuthn within 15 minutes', and says so."""
    rule = Rule(
        "admin",
        groups=frozenset({"finance-ops"}),
        mfa_methods=frozenset({"webauthn"}),
        mfa_max_age=timedelta(minutes=15),
    )
    compiled = compile_policies("t1", [AppPolicy("settlement", (rule,))])
    decision = compiled.decide(
        request(mfa_method="totp", mfa_at=MONDAY_10_TAIPEI - timedelta(hours=3))
    )
    assert decision.effect is Effect.STEP_UP
    assert decision.reasons == (
        "Requires WebAuthn within 15 minutes; your last MFA was TOTP 3 h ago: "
        "rule 'admin' of app 'settlement' asks for a fresh second factor.",
    )
    (trace,) = decision.considered
    assert trace.outcome is Outcome.NEEDS_STEP_UP
    assert trace.failed == "requires WebAuthn within 15 minutes; your last MFA was TOTP 3 h ago"


def test_denial_carries_every_considered_rule_with_what_failed() -> None:
    """Each rule of the app is traced, with the first unmet condition in words."""
    compiled = compile_policies(
        "t1",
        [
            AppPolicy(
                "settlement",
                (
                    Rule("finance", groups=frozenset({"finance-ops"}), rule_id="SET-10"),
                    Rule("hours", when=AllOf((DeviceTrust("managed"), OFFICE_HOURS))),
                ),
            )
        ],
    )
    saturday = datetime(2026, 1, 10, 4, 12, tzinfo=UTC)
    decision = compiled.decide(request(subject=CAROL, now=saturday))
    assert decision.effect is Effect.DENY
    finance, hours = decision.considered
    assert (finance.rule_id, finance.outcome) == ("SET-10", Outcome.NOT_MATCHED)
    assert finance.failed == "requires group finance-ops; you are in contractors"
    assert hours.failed == ("requires Mon–Fri 09:00–18:00 Asia/Taipei time; it is Sat 12:12 there")


def test_allow_carries_no_trace() -> None:
    """Allow decisions stay cheap: no explain data is attached."""
    decision = only(DeviceTrust("managed")).decide(request())
    assert decision.allowed
    assert decision.considered == ()
    assert decision.rule_id == "r"


def test_a_denial_traces_every_rule_of_the_subject_and_a_bounded_number_of_others() -> None:
    """Thousands of rules for other groups do not make a denial page slow."""
    others = tuple(Rule(f"g{index}", groups=frozenset({f"g{index}"})) for index in range(200))
    mine = Rule("mine", groups=frozenset({"finance-ops"}), path_prefixes=("/reports",))
    compiled = compile_policies("t1", [AppPolicy("settlement", (*others, mine))])
    considered = compiled.decide(request()).considered
    assert len(considered) == 64 + 1
    assert considered[-1].rule == "mine"
    assert considered[-1].failed == "requires a path under /reports; this is /payouts"
