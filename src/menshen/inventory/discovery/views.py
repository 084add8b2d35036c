"""Plain JSON views of what discovery read and found, for ``--json`` and reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from menshen.inventory.discovery.match import Discovery, SeenFlow
from menshen.inventory.discovery.records import Observation, ParseReport
from menshen.inventory.model import endpoint_text


def report_json(report: ParseReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "format": report.format,
        "lines": report.lines,
        "flows": len(report.observations),
        "connections": report.connections,
        "rejected": report.rejected_count,
        "rejectedLines": [{"line": r.line, "reason": r.reason} for r in report.rejected],
        "skipped": dict(report.skipped),
    }


def observation_json(item: Observation) -> dict[str, Any]:
    return {
        "src": endpoint_text(item.source),
        "dst": endpoint_text(item.destination),
        "port": item.port,
        "protocol": item.protocol,
        "count": item.count,
        "refused": item.refused,
        "firstSeen": None if item.origin is None else str(item.origin),
    }


def seen_json(item: SeenFlow) -> dict[str, Any]:
    return observation_json(item.observation) | {
        "srcAsset": item.source,
        "dstAsset": item.destination,
        "declared": list(item.declared),
        "note": item.note or None,
    }


def discovery_json(
    reports: Sequence[ParseReport], found: Discovery, *, applied: bool
) -> dict[str, Any]:
    return {
        "inputs": [report_json(report) for report in reports],
        "applied": applied,
        "newAssets": [
            {
                "id": item.asset.id,
                "addresses": list(item.asset.addresses),
                "labels": dict(item.asset.labels),
                "flows": item.flows,
                "connections": item.connections,
                "firstSeen": None if item.first_seen is None else str(item.first_seen),
            }
            for item in found.new_assets
        ],
        "notProposed": found.not_proposed,
        "outside": [
            {"address": str(item.address), "zone": item.zone, "connections": item.connections}
            for item in found.outside
        ],
        "ignored": found.ignored,
        "matched": [seen_json(item) for item in found.matched],
        "undeclared": [seen_json(item) for item in found.undeclared],
        "declaredUnseen": [flow.id for flow in found.unseen],
    }
