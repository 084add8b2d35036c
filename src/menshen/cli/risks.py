"""``menshen inventory risks``: where the budget goes first.

Scores every asset and declared flow (``menshen.segmentation.risk``: impact × likelihood,
each part listed) and prints the top ones with the reason and the next step. MFA in front
of gateway apps is read from the tenant's access policy (apps, policies, groups), or from
the manifest files given with ``--policy``; with ``-f`` and no ``--policy`` it is unknown
and counted as such. Registered when ``menshen.cli.main`` imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from menshen.app import Platform
from menshen.cli.context import fail
from menshen.cli.inventory import inventory_app
from menshen.cli.modelio import AtOpt, FilesOpt, JsonOpt, parse_at, print_json, say
from menshen.cli.policy_tools import FILES_TENANT, from_specs, from_store, specs_of
from menshen.cli.traffic import model_and_platform
from menshen.errors import MenshenError
from menshen.manifest.model import GroupSpec
from menshen.segmentation.mfa import AppMfa, app_mfa
from menshen.segmentation.risk import RiskItem, assess, top

PolicyOpt = Annotated[
    list[Path] | None,
    typer.Option("--policy", help="Manifest files (App, Policy, Group) to read MFA from."),
]
ContractorOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--contractor",
        help="KEY=VALUE label marking contractor workstations (default: any label 'contractor').",
    ),
]


@inventory_app.command("risks")
def risks_cmd(
    ctx: typer.Context,
    count: Annotated[int, typer.Option("--top", min=1, help="How many items to list.")] = 10,
    files: FilesOpt = None,
    policy: PolicyOpt = None,
    contractor: ContractorOpt = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The riskiest assets and flows: score, reason, and the next step for each."""
    when = parse_at(at)
    labels = _labels(contractor or [])
    with model_and_platform(ctx, files, as_json) as (seg, platform):
        mfa = _mfa(policy or [], platform)
        items = assess(seg, when, mfa=mfa, contractor_labels=labels)
    chosen = top(items, count)
    if as_json:
        print_json(
            {
                "at": when.isoformat(),
                "formula": "score = impact × likelihood; likelihood = 1 + Σ factor points",
                "mfaRead": mfa is not None,
                "items": [risk_json(item) for item in chosen],
                "scored": len(items),
            }
        )
        return
    say(f"[bold]top {len(chosen)} of {len(items)} risks[/] (score = impact × likelihood)")
    for rank, item in enumerate(chosen, start=1):
        impact = " + ".join(f"{name} {points}" for name, points in item.impact)
        head = f"[bold]{rank:>2}. {item.score:g}[/]  {item.kind} [bold]{item.id}[/]"
        say(f"\n{head}  {escape(item.title)}")
        say(f"     impact {item.impact_points} = {escape(impact)}")
        say(
            f"     likelihood {item.likelihood:g} = 1"
            + "".join(f" + {f.points:g}" for f in item.factors)
        )
        for factor in sorted(item.factors, key=lambda factor: -factor.points):
            say(f"       +{factor.points:g}  {escape(factor.reason)}")
        say(f"     [green]next:[/] {escape(item.next_step)}")
    say("")
    say('how the score is made: docs/segmentation.md, "Risk prioritization"')
    if mfa is None:
        say("MFA in front of gateway apps was not read (pass --policy or use the store)")


def risk_json(item: RiskItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "id": item.id,
        "title": item.title,
        "score": item.score,
        "impact": {"points": item.impact_points, "parts": dict(item.impact)},
        "likelihood": item.likelihood,
        "factors": [
            {"name": f.name, "points": f.points, "reason": f.reason, "step": f.step}
            for f in item.factors
        ],
        "nextStep": item.next_step,
    }


def _labels(texts: list[str]) -> tuple[tuple[str, str], ...]:
    labels = []
    for text in texts:
        key, equals, value = text.partition("=")
        if not equals or not key or not value:
            raise fail(f"--contractor {text!r}: write KEY=VALUE, e.g. group=contractor")
        labels.append((key.strip(), value.strip()))
    return tuple(labels)


def _mfa(policy: list[Path], platform: Platform | None) -> dict[str, AppMfa] | None:
    """The MFA state of each gateway app, from ``--policy`` files or the store (or None)."""
    try:
        if policy:
            specs = specs_of(policy)
            loaded = from_specs(FILES_TENANT, specs)
            groups = {s.name: s.mfa_required for s in specs if isinstance(s, GroupSpec)}
            return app_mfa(loaded.policy, loaded.apps, groups)
        if platform is None:
            return None
        loaded = from_store(platform)
        tenant = platform.store.tenant(platform.settings.tenant)
        groups = {group.name: group.mfa_required for group in tenant.groups.list()}
        return app_mfa(loaded.policy, loaded.apps, groups)
    except MenshenError as exc:
        raise fail(escape(str(exc))) from None
