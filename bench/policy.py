"""``python -m bench.policy``: policy decision latency, menshen beside cedarpy and Casbin.

For tenants of 20, 200 and 2,000 rules (``bench.policy_tenant``), the same policy is
rendered for Cedar (``bench.policy_cedar``) and Casbin (``bench.policy_casbin``), and a
fixed set of requests (allows, denials, step-ups) is decided by all three engines in the
same run. **Before any timing**, every engine must give menshen's allow/deny answer on every
request (a step-up counts as "not allowed": neither baseline has that effect); a benchmark
of different questions would be worthless, so a disagreement fails the run (exit code 1,
after writing the JSON with the disagreeing requests). Then each decision is timed on its
own (``bench.policy_timing``) and the medians and 99th percentiles are printed beside the
baselines' with the ratios and the targets (``bench.policy_report``), and written to
``bench/out/policy.json``. See docs/benchmarks.md, "Policy decisions".
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.policy_engines import Engine, Unavailable, availability, engines
from bench.policy_options import PolicyOptions, parse_options
from bench.policy_report import (
    PolicyFigure,
    SizeResult,
    growth_figures,
    print_summary,
    size_figures,
)
from bench.policy_tenant import generate_probes, generate_tenant, shape
from bench.policy_timing import (
    Clock,
    Latency,
    latency,
    time_batches,
    time_each,
    timer_overhead_ns,
)
from menshen.policy import Effect

REFERENCE_BEFORE_CODE = {
    "cedarpy_is_authorized_us": 390,
    "cedarpy_batched_us": 105,
    "casbin_us": 130,
    "python_closure_us": 0.6,
    "note": "issue 3: measured on this machine before any code existed (other policies)",
}
_REPO = Path(__file__).resolve().parent.parent


def measure_size(
    rules: int, options: PolicyOptions, console: Console, clock: Clock
) -> tuple[SizeResult, dict[str, Any]]:
    """Build one tenant, check the engines agree, time them; the figures and the JSON part."""
    tenant = generate_tenant(rules, options.seed)
    probes = generate_probes(tenant, options.requests, options.seed)
    found = engines(tenant, probes)
    menshen = found[0]
    assert isinstance(menshen, Engine)
    # Caches cold: the first answer to each request right after compiling.
    first = time_each(
        menshen.decide, menshen.requests, len(menshen.requests), options.run_seconds, clock
    )
    decisions = [menshen.decide(request) for request in menshen.requests]
    expected = [decision.effect is Effect.ALLOW for decision in decisions]
    denied = [index for index, allowed in enumerate(expected) if not allowed]
    apps, groups, users = shape(rules)
    part: dict[str, Any] = {
        "rules": rules,
        "tenant": {
            "apps": apps,
            "groups": groups,
            "users": users,
            "deny_rules": sum(
                rule.effect is Effect.DENY for policy in tenant.policies for rule in policy.rules
            ),
            "engine_sizes": {
                engine.name: engine.size for engine in found if isinstance(engine, Engine)
            },
        },
        "requests": {
            "count": len(probes),
            "menshen_effects": dict(Counter(decision.effect.value for decision in decisions)),
            "example_denials": _example_denials(decisions),
        },
        "agreement": {},
        "latency": {},
    }
    timed: dict[str, Latency] = {}
    timed_denied: dict[str, Latency] = {}
    batched_us: float | None = None
    for engine in found:
        if isinstance(engine, Unavailable):
            part["latency"][engine.name] = {"available": False, "reason": engine.reason}
            continue
        if engine.name != "menshen":
            part["agreement"][engine.name] = _agreement(engine, expected, probes)
        limit = (
            options.menshen_decisions if engine.name == "menshen" else options.baseline_decisions
        )
        run = time_each(engine.decide, engine.requests, limit, options.run_seconds, clock)
        every, only_denied = latency(run.durations_ns), latency(run.subset(denied))
        entry: dict[str, Any] = {"available": True, "wall_seconds": round(run.wall_ns / 1e9, 3)}
        if every is not None:
            timed[engine.name] = every
            entry["all"] = every.to_json()
        if only_denied is not None:
            timed_denied[engine.name] = only_denied
            entry["denied"] = only_denied.to_json()
        if engine.batch is not None:
            batches = time_batches(engine.batch, engine.requests, 50, options.run_seconds, clock)
            batched = latency(batches)
            if batched is not None:
                batched_us = batched.median_us
                entry["batched_per_decision"] = batched.to_json() | {"batch_size": len(probes)}
        part["latency"][engine.name] = entry
        console.print(
            f"{rules:>5} rules  {engine.name:<8} {every.median_us if every else 0:>10.2f} "
            f"µs median over {len(run.durations_ns):,} decisions",
            highlight=False,
        )
    cold = latency(first.durations_ns)
    if cold is not None:
        part["latency"]["menshen"]["first_decision"] = cold.to_json()
    return SizeResult(rules, timed, timed_denied, cold, batched_us), part


def _agreement(engine: Engine, expected: Sequence[bool], probes: Sequence[Any]) -> dict[str, Any]:
    """How many requests the engine answers as menshen does; the first disagreements."""
    disagreements = []
    errors = []
    for index, request in enumerate(engine.requests):
        try:
            allowed = engine.allowed(engine.decide(request))
        except RuntimeError as exc:  # a Cedar evaluation error: a broken rendering
            errors.append({"request": _probe_json(probes[index]), "error": str(exc)})
            continue
        if allowed != expected[index]:
            disagreements.append(
                {"request": _probe_json(probes[index]), "menshen_allowed": expected[index]}
            )
    return {
        "agree": len(expected) - len(disagreements) - len(errors),
        "disagree": len(disagreements) + len(errors),
        "examples": (disagreements + errors)[:10],
    }


def _probe_json(probe: Any) -> dict[str, Any]:
    return {
        "user": probe.user,
        "app": probe.app,
        "method": probe.method,
        "path": probe.path,
        "source_ip": probe.source_ip,
        "mfa_age_seconds": probe.mfa_age_seconds,
    }


def _example_denials(decisions: Sequence[Any]) -> dict[str, Any]:
    """The first decision of each non-allow effect, as timed: the explain data it carries."""
    found: dict[str, Any] = {}
    for decision in decisions:
        effect = decision.effect.value
        if decision.effect is not Effect.ALLOW and effect not in found:
            found[effect] = {
                "rule": decision.rule,
                "reasons": list(decision.reasons),
                "decision": repr(decision)[:2000],
            }
    return found


def machine() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(_REPO), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return "?"
        return done.stdout.strip() if done.returncode == 0 else "?"

    status = git("status", "--porcelain")
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "source": git("describe", "--always", "--dirty"),
        "source_uncommitted_paths": None if status == "?" else len(status.splitlines()),
    }


def run(
    options: PolicyOptions,
    console: Console,
    environment: dict[str, Any],
    clock: Clock = time.perf_counter_ns,
) -> tuple[dict[str, Any], list[PolicyFigure]]:
    """Every size in turn; ``environment`` (machine, start time) goes into the JSON as is."""
    result: dict[str, Any] = {
        "benchmark": "policy",
        **environment,
        "engines": {"menshen": {"available": True}} | availability(),
        "settings": {
            "sizes": list(options.sizes),
            "requests": options.requests,
            "seed": options.seed,
            "menshen_decisions": options.menshen_decisions,
            "baseline_decisions": options.baseline_decisions,
            "run_seconds": options.run_seconds,
            "gc": "paused during each timed run, after a full collection",
            "cedarpy_mode": "pre-parsed PolicySet and Entities (nothing re-parsed per call)",
        },
        "reference_before_code": REFERENCE_BEFORE_CODE,
        "timer_overhead_ns": timer_overhead_ns(clock),
        "sizes": [],
    }
    measured = []
    for rules in options.sizes:
        size, part = measure_size(rules, options, console, clock)
        measured.append(size)
        result["sizes"].append(part)
    figures = [figure for size in measured for figure in size_figures(size)]
    figures += growth_figures(measured)
    result["figures"] = [figure.to_json() for figure in figures]
    result["engines_agree"] = all(
        check["disagree"] == 0 for part in result["sizes"] for check in part["agreement"].values()
    )
    return result, figures


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)
    if options.ignored:
        console.print(
            f"bench.policy: ignoring options of other benchmarks: {' '.join(options.ignored)}"
        )
    environment = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    result, figures = run(options, console, environment)
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print_summary(console, result, figures)
    console.print(f"written: {options.out}")
    if not result["engines_agree"]:
        console.print("[red]the engines disagree: the latencies compare different questions[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
