"""The policy benchmark: one policy in three engines, hand-checked answers, timing, verdicts."""

from __future__ import annotations

import io
import ipaddress
import json
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

import pytest
from bench.policy import run
from bench.policy_casbin import mfa_ok
from bench.policy_casbin import render_rule as casbin_lines
from bench.policy_cedar import render_tenant as cedar_tenant
from bench.policy_engines import (
    Engine,
    Unavailable,
    availability,
    casbin_engine,
    cedar_engine,
    engines,
    menshen_engine,
)
from bench.policy_options import PolicyOptions, parse_options
from bench.policy_report import SizeResult, growth_figures, size_figures
from bench.policy_tenant import Probe, Tenant, generate_probes, generate_tenant
from bench.policy_timing import Latency, growth_exponent, latency, time_each
from rich.console import Console

from menshen.policy import AppPolicy, Effect, Rule

OFFICE = ipaddress.IPv4Network("10.10.0.0/16")
BLOCKED = ipaddress.IPv4Network("198.51.100.0/24")

HAND_TENANT = Tenant(
    tenant_id="hand",
    apps=("settlement", "wiki"),
    unlisted_app="unlisted",
    groups=("finance-ops", "contractors", "support"),
    memberships=MappingProxyType(
        {
            "alice": frozenset({"finance-ops"}),
            "bob": frozenset({"contractors"}),
            "carol": frozenset({"support", "contractors"}),
            "dave": frozenset({"support"}),
        }
    ),
    policies=(
        AppPolicy(
            "settlement",
            (
                Rule(
                    "no-contractors-admin",
                    Effect.DENY,
                    groups=frozenset({"contractors"}),
                    path_prefixes=("/admin/",),
                ),
                Rule(
                    "payouts",
                    groups=frozenset({"finance-ops"}),
                    methods=frozenset({"GET", "POST"}),
                    path_prefixes=("/payouts",),
                    source_networks=(OFFICE,),
                    mfa_max_age=timedelta(minutes=15),
                ),
                Rule("alice-reports", users=frozenset({"alice"}), path_prefixes=("/reports",)),
            ),
        ),
        AppPolicy(
            "wiki",
            (
                Rule("blocked", Effect.DENY, source_networks=(BLOCKED,)),
                Rule("read", methods=frozenset({"GET", "HEAD"})),
                Rule(
                    "support-edit",
                    groups=frozenset({"support"}),
                    methods=frozenset({"POST"}),
                    path_prefixes=("/pages",),
                    mfa_required=True,
                ),
            ),
        ),
    ),
)

# (probe, menshen's effect), each worked out by hand from the rules above.
HAND_CASES = (
    (Probe("alice", "settlement", "GET", "/payouts/42", "10.10.1.2", 60), Effect.ALLOW),
    (Probe("alice", "settlement", "POST", "/payouts", "10.10.1.2", 60), Effect.ALLOW),
    (Probe("alice", "settlement", "POST", "/payouts", "10.10.1.2", 3600), Effect.STEP_UP),
    (Probe("alice", "settlement", "GET", "/payouts", "203.0.113.9", 60), Effect.DENY),
    (Probe("alice", "settlement", "GET", "/payoutsx", "10.10.1.2", 60), Effect.DENY),
    (Probe("alice", "settlement", "DELETE", "/payouts", "10.10.1.2", 60), Effect.DENY),
    (Probe("alice", "settlement", "PUT", "/reports/q1", "203.0.113.9", None), Effect.ALLOW),
    (Probe("bob", "settlement", "GET", "/admin", "10.10.1.2", 60), Effect.DENY),
    (Probe("carol", "wiki", "POST", "/pages/1", "10.10.1.2", None), Effect.STEP_UP),
    (Probe("carol", "wiki", "POST", "/pages/1", "10.10.1.2", 7200), Effect.ALLOW),
    (Probe("dave", "wiki", "GET", "/anything", "198.51.100.7", 60), Effect.DENY),
    (Probe("dave", "wiki", "GET", "/", "203.0.113.9", None), Effect.ALLOW),
    (Probe("dave", "unlisted", "GET", "/", "10.10.1.2", 60), Effect.DENY),
    (Probe("bob", "wiki", "POST", "/pages", "10.10.1.2", 60), Effect.DENY),
)
HAND_PROBES = tuple(probe for probe, _ in HAND_CASES)
HAND_ALLOWED = [effect is Effect.ALLOW for _, effect in HAND_CASES]


def _answers(engine: Engine | Unavailable) -> list[bool]:
    assert isinstance(engine, Engine), engine
    return [engine.allowed(engine.decide(request)) for request in engine.requests]


def test_menshen_gives_the_hand_checked_effects() -> None:
    """The hand-written tenant is decided as worked out by hand, step-ups included."""
    engine = menshen_engine(HAND_TENANT, HAND_PROBES)
    effects = [engine.decide(request).effect for request in engine.requests]
    assert effects == [effect for _, effect in HAND_CASES]


def test_cedar_rendering_agrees_on_hand_checked_requests() -> None:
    """The Cedar policy set allows exactly the requests menshen allows (step-up: not allowed)."""
    pytest.importorskip("cedarpy", reason="cedarpy is installed by the dev extra")
    assert _answers(cedar_engine(HAND_TENANT, HAND_PROBES)) == HAND_ALLOWED


def test_casbin_rendering_agrees_on_hand_checked_requests() -> None:
    """The Casbin model and lines allow exactly the requests menshen allows."""
    pytest.importorskip("casbin", reason="casbin is installed by the dev extra")
    assert _answers(casbin_engine(HAND_TENANT, HAND_PROBES)) == HAND_ALLOWED


def test_all_engines_agree_on_a_generated_tenant() -> None:
    """On a generated 20-rule tenant and 240 requests, the three engines give one answer."""
    pytest.importorskip("cedarpy", reason="cedarpy is installed by the dev extra")
    pytest.importorskip("casbin", reason="casbin is installed by the dev extra")
    tenant = generate_tenant(20, seed=3)
    probes = generate_probes(tenant, 240, seed=3)
    menshen, cedar, casbin = (_answers(engine) for engine in engines(tenant, probes))
    assert cedar == menshen
    assert casbin == menshen


def test_cedar_text_has_one_annotated_policy_per_rule() -> None:
    """Every rule becomes one Cedar policy named by an @id; deny rules become forbid."""
    rendered = cedar_tenant(HAND_TENANT)
    assert rendered.policy_count == 6
    assert rendered.policies.count("@id(") == 6
    assert rendered.policies.count("forbid (") == 2
    assert '@id("settlement/payouts")' in rendered.policies
    assert 'context.path like "/admin/*"' in rendered.policies
    assert "context.mfa_age <= 900" in rendered.policies


def test_casbin_lines_are_the_product_of_the_rule_fields() -> None:
    """A rule with 2 principals, 2 methods and 2 prefixes is 8 Casbin lines."""
    rule = Rule(
        "r",
        users=frozenset({"alice"}),
        groups=frozenset({"ops"}),
        methods=frozenset({"GET", "POST"}),
        path_prefixes=("/a", "/b/"),
    )
    lines = casbin_lines("app", rule)
    assert len(lines) == 8
    assert ("group:ops", "app", "POST", "/b/*", "*", "-", "allow") in lines
    assert casbin_lines("app", Rule("any"))[0][0] == "*"


def test_casbin_mfa_function_checks_presence_and_age() -> None:
    """mfaOk: no demand passes, a missing factor fails, an old one fails a maximum age."""
    assert mfa_ok(-1, "-")
    assert not mfa_ok(-1, "any")
    assert mfa_ok(7200, "any")
    assert mfa_ok(900, "900")
    assert not mfa_ok(901, "900")


def test_generated_tenant_is_reproducible_and_exact() -> None:
    """The same seed gives the same tenant, with exactly the rules asked for."""
    first, again = generate_tenant(200, seed=9), generate_tenant(200, seed=9)
    assert first == again
    assert first.rule_count == 200
    assert generate_tenant(200, seed=10) != first
    deny = sum(rule.effect is Effect.DENY for policy in first.policies for rule in policy.rules)
    assert 0 < deny < 60


def test_generated_requests_mix_allows_denials_and_step_ups() -> None:
    """The request set exercises every effect, so denials (with reasons) are timed too."""
    tenant = generate_tenant(200, seed=2025)
    engine = menshen_engine(tenant, generate_probes(tenant, 240, seed=2025))
    effects = Counter(engine.decide(request).effect for request in engine.requests)
    assert effects[Effect.ALLOW] > 50
    assert effects[Effect.DENY] > 50
    assert effects[Effect.STEP_UP] > 0


def test_latency_summary_is_median_and_nearest_rank_p99() -> None:
    """1..100 µs: median 50.5 µs, p99 99 µs; nothing measured is None."""
    found = latency([n * 1000 for n in range(100, 0, -1)])
    assert found == Latency(decisions=100, median_us=50.5, p99_us=99.0, mean_us=50.5)
    assert latency([]) is None


def test_timed_run_stops_at_its_time_bound() -> None:
    """With a clock that advances 1 ms a reading, a 10 ms bound stops the run early."""
    ticks = iter(range(0, 10**12, 1_000_000))
    run_ = time_each(lambda request: None, ["a", "b"], 1000, 0.01, clock=lambda: next(ticks))
    assert 4 <= len(run_.durations_ns) <= 6
    assert run_.request_indexes[:3] == (0, 1, 0)
    assert set(run_.durations_ns) == {1_000_000}


def test_growth_exponent_is_one_when_linear_and_zero_when_flat() -> None:
    """The log-log slope that judges "sub-linear"."""
    assert growth_exponent((20, 1.0), (2000, 100.0)) == pytest.approx(1.0)
    assert growth_exponent((20, 2.0), (2000, 2.0)) == 0.0
    with pytest.raises(ValueError, match="increasing"):
        growth_exponent((2000, 1.0), (20, 2.0))


def _lat(median: float) -> Latency:
    return Latency(decisions=10, median_us=median, p99_us=median * 2, mean_us=median)


def test_figures_judge_the_targets_and_give_ratios() -> None:
    """Median < 3 µs at 200 rules and < 5 µs at 2,000; ratios are menshen / baseline."""
    small = SizeResult(200, {"menshen": _lat(2.5), "cedarpy": _lat(250.0)}, {}, None, 100.0)
    large = SizeResult(2000, {"menshen": _lat(6.0), "casbin": _lat(600.0)}, {}, None, None)
    head_small, head_large = size_figures(small)[0], size_figures(large)[0]
    assert head_small.met is True
    assert head_small.vs_cedarpy == pytest.approx(0.01)
    assert head_small.vs_casbin is None
    assert head_small.cedarpy_batched == 100.0
    assert head_large.met is False
    assert head_large.vs_casbin == pytest.approx(0.01)
    growth, slope = growth_figures([small, large])
    assert growth.menshen == pytest.approx(2.4)
    assert slope.met is True
    assert slope.cedarpy is None


def test_options_of_other_benchmarks_are_ignored_not_fatal() -> None:
    """make bench passes one BENCH_ARGS to every benchmark."""
    options = parse_options(["--seconds", "5", "--sizes", "20,200"])
    assert options.sizes == (20, 200)
    assert options.ignored == ("--seconds", "5")
    with pytest.raises(SystemExit):
        parse_options(["--sizes", "200,20"])


def test_a_missing_baseline_is_reported_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without cedarpy, the engine says why and availability carries the reason."""
    monkeypatch.setitem(sys.modules, "cedarpy", None)
    missing = cedar_engine(HAND_TENANT, HAND_PROBES)
    assert isinstance(missing, Unavailable)
    assert "not installed" in missing.reason
    found = availability()
    assert found["cedarpy"]["available"] is False
    assert found["cedarpy"]["reason"]


def test_a_run_writes_agreement_figures_and_json() -> None:
    """A tiny run (fake clock) checks agreement, names every figure and is JSON-ready."""
    pytest.importorskip("cedarpy", reason="cedarpy is installed by the dev extra")
    pytest.importorskip("casbin", reason="casbin is installed by the dev extra")
    ticks = iter(range(0, 10**15, 1000))
    options = PolicyOptions((5, 20), 20, 1, 100, 10, 1.0, Path("unused.json"), ignored=())
    environment = {"machine": {"nproc": 2, "python": "3", "loadavg_at_start": [0.0]}}
    console = Console(file=io.StringIO(), width=200)
    result, figures = run(options, console, environment, clock=lambda: next(ticks))
    assert result["engines_agree"] is True
    assert [size["agreement"]["casbin"]["disagree"] for size in result["sizes"]] == [0, 0]
    names = [figure.name for figure in figures]
    assert names[0] == "median_5_rules"
    assert names[-1] == "growth_exponent_5_to_20_rules"
    json.dumps(result)
