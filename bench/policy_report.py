"""Figures of the policy benchmark: menshen beside cedarpy and Casbin, with units and verdicts.

Pure except for ``print_table`` and ``print_summary`` (Rich). The targets are DESIGN.md §7
and issue 3: median under 3 µs at 200 rules and under 5 µs at 2,000, and latency growing
sub-linearly with the number of rules (a log-log slope below 1 between the smallest and
the largest tenant).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.policy_timing import Latency, growth_exponent
from bench.report import Target

MEDIAN_TARGETS_US: Mapping[int, float] = {200: 3.0, 2000: 5.0}
ENGINES = ("menshen", "cedarpy", "casbin")


@dataclass(frozen=True, slots=True)
class PolicyFigure:
    """One figure for each engine; ``target`` applies to menshen's value."""

    name: str
    unit: str
    menshen: float | None
    cedarpy: float | None = None
    cedarpy_batched: float | None = None
    casbin: float | None = None
    target: Target | None = None
    ratios: bool = True
    note: str = ""

    @property
    def vs_cedarpy(self) -> float | None:
        return _ratio(self.menshen, self.cedarpy) if self.ratios else None

    @property
    def vs_casbin(self) -> float | None:
        return _ratio(self.menshen, self.casbin) if self.ratios else None

    @property
    def met(self) -> bool | None:
        if self.target is None or self.menshen is None:
            return None
        return self.target.met(self.menshen)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "menshen": _round(self.menshen, 3),
            "cedarpy": _round(self.cedarpy, 3),
            "cedarpy_batched": _round(self.cedarpy_batched, 3),
            "casbin": _round(self.casbin, 3),
            "ratio_menshen_to_cedarpy": _round(self.vs_cedarpy, 5),
            "ratio_menshen_to_casbin": _round(self.vs_casbin, 5),
            "target": None if self.target is None else f"menshen {self.target}",
            "met": self.met,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class SizeResult:
    """What was measured for one tenant size; absent engines have no entry."""

    rules: int
    all: Mapping[str, Latency]
    denied: Mapping[str, Latency]
    first_decision: Latency | None
    cedarpy_batched_us: float | None


def size_figures(result: SizeResult) -> list[PolicyFigure]:
    n = result.rules
    target_us = MEDIAN_TARGETS_US.get(n)
    figures = []
    for name, found, median, note in (
        (f"median_{n}_rules", result.all, True, "every request"),
        (f"p99_{n}_rules", result.all, False, "every request"),
        (
            f"median_denied_{n}_rules",
            result.denied,
            True,
            "requests menshen denies or steps up (the decision carries its reasons)",
        ),
        (f"p99_denied_{n}_rules", result.denied, False, "the same denied requests"),
    ):
        menshen, cedarpy, casbin = _pick(found, median)
        headline = name == f"median_{n}_rules"
        figures.append(
            PolicyFigure(
                name,
                "µs",
                menshen,
                cedarpy,
                result.cedarpy_batched_us if headline else None,
                casbin,
                target=Target("<", target_us) if headline and target_us is not None else None,
                note=note
                + ("; cedarpy batched: a batch of all requests / its size" if headline else ""),
            )
        )
    first = result.first_decision
    figures.append(
        PolicyFigure(
            f"median_first_decision_{n}_rules",
            "µs",
            None if first is None else first.median_us,
            ratios=False,
            note="menshen: first pass over the requests right after compiling (caches cold)",
        )
    )
    return figures


def growth_figures(results: Sequence[SizeResult]) -> list[PolicyFigure]:
    """Median growth from the smallest to the largest tenant, and its log-log slope."""
    if len(results) < 2:
        return []
    small, large = results[0], results[-1]
    factor: dict[str, float | None] = {}
    slope: dict[str, float | None] = {}
    for engine in ENGINES:
        a, b = small.all.get(engine), large.all.get(engine)
        if a is None or b is None or a.median_us <= 0 or b.median_us <= 0:
            factor[engine] = slope[engine] = None
            continue
        factor[engine] = b.median_us / a.median_us
        slope[engine] = growth_exponent((small.rules, a.median_us), (large.rules, b.median_us))
    span = f"{small.rules}_to_{large.rules}_rules"
    return [
        PolicyFigure(
            f"median_growth_{span}",
            "×",
            factor["menshen"],
            factor["cedarpy"],
            None,
            factor["casbin"],
            ratios=False,
            note=f"median at {large.rules} rules / median at {small.rules} "
            f"(rules grew {large.rules / small.rules:g}×)",
        ),
        PolicyFigure(
            f"growth_exponent_{span}",
            "slope",
            slope["menshen"],
            slope["cedarpy"],
            None,
            slope["casbin"],
            target=Target("<", 1.0),
            ratios=False,
            note="log(median growth) / log(rule growth): 1 = linear, 0 = flat",
        ),
    ]


def _pick(
    found: Mapping[str, Latency], median: bool
) -> tuple[float | None, float | None, float | None]:
    """(menshen, cedarpy, casbin): each engine's median or p99 in µs, None if absent."""
    picked = []
    for engine in ENGINES:
        one = found.get(engine)
        picked.append(None if one is None else (one.median_us if median else one.p99_us))
    return picked[0], picked[1], picked[2]


def _ratio(menshen: float | None, other: float | None) -> float | None:
    if menshen is None or other is None or other <= 0:
        return None
    return menshen / other


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def _ratio_text(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def print_table(console: Console, figures: Sequence[PolicyFigure], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for header, justify in (
        ("figure", "left"),
        ("unit", "left"),
        ("menshen", "right"),
        ("cedarpy", "right"),
        ("cedarpy batched", "right"),
        ("casbin", "right"),
        ("menshen/cedarpy", "right"),
        ("menshen/casbin", "right"),
        ("target", "left"),
        ("verdict", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for figure in figures:
        verdict = {None: "", True: "[green]met[/]", False: "[red]missed[/]"}[figure.met]
        table.add_row(
            figure.name,
            figure.unit,
            _num(figure.menshen),
            _num(figure.cedarpy),
            _num(figure.cedarpy_batched),
            _num(figure.casbin),
            _ratio_text(figure.vs_cedarpy),
            _ratio_text(figure.vs_casbin),
            "" if figure.target is None else f"menshen {figure.target}",
            verdict,
        )
    console.print(table)


def print_summary(
    console: Console, result: Mapping[str, Any], figures: Sequence[PolicyFigure]
) -> None:
    """Engines, agreement, the table, each target's verdict, and the speed-ups."""
    for name, found in result["engines"].items():
        if not found["available"]:
            console.print(f"[red]{name} not measured:[/] {found['reason']}", highlight=False)
    for size in result["sizes"]:
        for name, check in size["agreement"].items():
            colour = "green" if check["disagree"] == 0 else "red"
            console.print(
                f"{size['rules']:>5} rules: {name} agrees with menshen on "
                f"[{colour}]{check['agree']}/{check['agree'] + check['disagree']}[/] requests "
                f"({size['tenant']['engine_sizes'].get(name, '?')} {_unit(name)})",
                highlight=False,
            )
    machine = result["machine"]
    print_table(
        console,
        figures,
        f"policy decisions: menshen vs cedarpy and casbin, same policy, same requests; "
        f"{machine['nproc']} CPUs, Python {machine['python']}, load average at start "
        f"{machine['loadavg_at_start'][0]:.2f}",
    )
    for figure in figures:
        if figure.met is not None and figure.menshen is not None:
            verdict = "[green]MET[/]" if figure.met else "[red]MISSED[/]"
            console.print(
                f"target {figure.name}: menshen {figure.target} -> {verdict} "
                f"(measured {figure.menshen:.3g} {figure.unit})",
                highlight=False,
            )
    for figure in figures:
        if figure.name.startswith("median_") and figure.name.endswith("_rules"):
            if "growth" in figure.name or "first" in figure.name or "denied" in figure.name:
                continue
            faster = [
                f"{1 / ratio:,.0f}× faster than {name}"
                for name, ratio in (("cedarpy", figure.vs_cedarpy), ("casbin", figure.vs_casbin))
                if ratio
            ]
            if faster:
                console.print(f"{figure.name}: menshen {', '.join(faster)}", highlight=False)


def _unit(engine: str) -> str:
    return {"cedarpy": "Cedar policies", "casbin": "Casbin policy lines"}.get(engine, "rules")
