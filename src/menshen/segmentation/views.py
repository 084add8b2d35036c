"""Plain JSON views of the analysis results, for ``--json``, the console API and reports.

Stable keys, sorted as the results are, times in ISO 8601: a machine reading them needs
nothing from menshen. Asset and store names travel with the ids so a report reads alone.
"""

from __future__ import annotations

from typing import Any

from menshen.inventory.model import endpoint_text
from menshen.inventory.problems import Problem
from menshen.segmentation.blast import BlastRadius, Hop
from menshen.segmentation.drift import CheckReport
from menshen.segmentation.reach import Grant, Reach
from menshen.segmentation.resolve import Segmentation


def grant_json(grant: Grant) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": grant.kind.value,
        "rule": grant.rule_id,
        "ruleSet": grant.rule_set,
        "ports": [str(port) for port in grant.ports],
    }
    if grant.expires is not None:
        body["expires"] = grant.expires.isoformat()
    return body


def hop_json(hop: Hop) -> dict[str, Any]:
    return {"from": hop.source, "to": hop.destination, "via": grant_json(hop.grant)}


def reach_json(seg: Segmentation, result: Reach) -> dict[str, Any]:
    return {
        "from": result.source,
        "at": result.at.isoformat(),
        "assets": [
            {
                "asset": item.asset,
                "name": _title(seg, item.asset),
                "zones": sorted(seg.zones_of(item.asset)),
                "grants": [grant_json(grant) for grant in item.grants],
            }
            for item in result.assets
        ],
        "networks": [
            {
                "zone": item.zone,
                "cidrs": [str(net) for net in item.cidrs],
                "grants": [grant_json(grant) for grant in item.grants],
            }
            for item in result.networks
        ],
    }


def blast_json(seg: Segmentation, result: BlastRadius) -> dict[str, Any]:
    return {
        "compromised": result.compromised,
        "at": result.at.isoformat(),
        "classes": [
            {
                "name": item.name,
                "highest": item.highest.value,
                "stores": list(item.stores),
                "flows": list(item.flows),
            }
            for item in result.classes
        ],
        "stores": [
            {
                "store": item.store.id,
                "name": item.store.title,
                "asset": item.store.asset,
                "classification": item.store.classification.value,
                "tags": list(item.store.tags),
                "records": item.store.records,
                "hops": item.hops,
                "path": [hop_json(hop) for hop in item.path],
            }
            for item in result.stores
        ],
        "flows": [
            {
                "flow": item.flow.id,
                "from": item.flow.source,
                "to": item.flow.destination,
                "classification": item.flow.classification.value,
                "tags": list(item.flow.tags),
                "encrypted": item.flow.encrypted,
                "via": item.via,
                "hops": item.hops,
            }
            for item in result.flows
        ],
        "assets": [
            {
                "asset": item.asset,
                "name": _title(seg, item.asset),
                "hops": item.hops,
                "path": [hop_json(hop) for hop in item.path],
            }
            for item in result.assets
        ],
    }


def check_json(report: CheckReport) -> dict[str, Any]:
    return {
        "at": report.at.isoformat(),
        "clean": report.clean,
        "observed": report.observed,
        "drift": [
            {
                "src": endpoint_text(item.observed.source),
                "dst": endpoint_text(item.observed.destination),
                "port": item.observed.port,
                "protocol": item.observed.protocol,
                "count": item.observed.count,
                "srcAsset": item.source_asset,
                "dstAsset": item.destination_asset,
                "verdict": item.verdict.action.value,
                "monitoredBy": item.verdict.monitored_by,
                "line": None if item.observed.origin is None else item.observed.origin.line,
            }
            for item in report.drift
        ],
        "gaps": [
            {
                "flow": gap.flow.id,
                "from": gap.flow.source,
                "to": gap.flow.destination,
                "missing": [str(port) for port in gap.missing],
            }
            for gap in report.gaps
        ],
        "expiredExceptions": [
            {
                "rule": item.rule_id,
                "ruleSet": item.rule_set,
                "owner": item.owner,
                "expires": item.expires.isoformat(),
            }
            for item in report.expired
        ],
    }


def problems_json(problems: tuple[Problem, ...]) -> list[dict[str, Any]]:
    return [
        {
            "source": None if p.origin is None else p.origin.source,
            "line": None if p.origin is None else p.origin.line,
            "column": None if p.origin is None else p.origin.column,
            "message": p.message,
        }
        for p in problems
    ]


def _title(seg: Segmentation, asset_id: str) -> str:
    asset = seg.inventory.asset(asset_id)
    return asset_id if asset is None else asset.title
