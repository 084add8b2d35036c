"""The three engines under one interface: a ``decide`` callable and its engine-native requests.

menshen decides from its compiled policy; ``cedarpy`` from a pre-parsed ``PolicySet`` and
``Entities`` (its fastest documented use: nothing is re-parsed per call); Casbin from an
``Enforcer`` loaded once. Each engine's requests are built before timing, so the timed
call is the decision alone. A baseline whose package is missing is reported as
unavailable, with the import error, never skipped silently.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import policy_casbin, policy_cedar
from bench.policy_tenant import Probe, Tenant, access_request
from menshen.policy import Effect, compile_policies
from menshen.policy.model import Decision

BASELINES = ("cedarpy", "casbin")


@dataclass(frozen=True, slots=True)
class Engine:
    """``decide(requests[i])`` answers probe ``i``; ``allowed`` reads that answer."""

    name: str
    requests: tuple[Any, ...]
    decide: Callable[[Any], Any]
    allowed: Callable[[Any], bool]
    batch: Callable[[Sequence[Any]], Sequence[Any]] | None = None
    size: int = 0  # policies (Cedar) or policy lines (Casbin) or rules (menshen)


@dataclass(frozen=True, slots=True)
class Unavailable:
    name: str
    reason: str


def availability() -> dict[str, dict[str, Any]]:
    """For each baseline: installed or not, its version, or why it could not be imported."""
    found: dict[str, dict[str, Any]] = {}
    for name in BASELINES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # any import failure: report it, measure the rest
            found[name] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
        else:
            found[name] = {"available": True, "version": importlib.metadata.version(name)}
    return found


def menshen_engine(tenant: Tenant, probes: Sequence[Probe]) -> Engine:
    compiled = compile_policies(tenant.tenant_id, tenant.policies)

    def decide_and_explain(request: Any) -> Decision:
        # The target includes "the explain data a denial needs": the per-rule
        # trace is built lazily, so a denial is timed with its trace read.
        decision = compiled.decide(request)
        if decision.effect is not Effect.ALLOW:
            _ = decision.considered
        return decision

    return Engine(
        name="menshen",
        requests=tuple(access_request(tenant, probe) for probe in probes),
        decide=decide_and_explain,
        allowed=lambda decision: decision.effect is Effect.ALLOW,
        size=tenant.rule_count,
    )


def cedar_engine(tenant: Tenant, probes: Sequence[Probe]) -> Engine | Unavailable:
    try:
        import cedarpy
    except ImportError as exc:
        return Unavailable("cedarpy", f"not installed ({exc})")
    rendered = policy_cedar.render_tenant(tenant)
    policies = cedarpy.PolicySet.from_str(rendered.policies)
    entities = cedarpy.Entities.from_json_str(rendered.entities)

    def decide(request: dict[str, Any]) -> cedarpy.AuthzResult:
        return cedarpy.is_authorized(request, policies, entities)

    def batch(requests: Sequence[dict[str, Any]]) -> list[cedarpy.AuthzResult]:
        return cedarpy.is_authorized_batch(list(requests), policies, entities)

    return Engine(
        name="cedarpy",
        requests=tuple(policy_cedar.request(probe) for probe in probes),
        decide=decide,
        allowed=_cedar_allowed,
        batch=batch,
        size=rendered.policy_count,
    )


def _cedar_allowed(result: Any) -> bool:
    if result.diagnostics.errors:
        # An evaluation error would be a silent denial: the rendering is wrong, say so.
        raise RuntimeError(f"cedar evaluation errors: {result.diagnostics.errors}")
    return bool(result.allowed)


def casbin_engine(tenant: Tenant, probes: Sequence[Probe]) -> Engine | Unavailable:
    try:
        casbin = importlib.import_module("casbin")
    except ImportError as exc:
        return Unavailable("casbin", f"not installed ({exc})")
    rendered = policy_casbin.render_tenant(tenant)
    model = casbin.Model()
    model.load_model_from_text(policy_casbin.MODEL)
    enforcer = casbin.Enforcer(model)
    enforcer.add_function("mfaOk", policy_casbin.mfa_ok)
    enforcer.add_policies([list(line) for line in rendered.lines])
    enforcer.add_grouping_policies([list(pair) for pair in rendered.memberships])
    enforce = enforcer.enforce

    def decide(request: policy_casbin.CasbinRequest) -> bool:
        return bool(enforce(*request))

    return Engine(
        name="casbin",
        requests=tuple(policy_casbin.request(probe) for probe in probes),
        decide=decide,
        allowed=bool,
        size=len(rendered.lines),
    )


def engines(tenant: Tenant, probes: Sequence[Probe]) -> list[Engine | Unavailable]:
    """menshen first, then each baseline (or why it is unavailable)."""
    return [
        menshen_engine(tenant, probes),
        cedar_engine(tenant, probes),
        casbin_engine(tenant, probes),
    ]
