"""A suggestion written as a ``Segmentation`` document, each rule commented with its support.

The text is written by hand rather than by a YAML dumper, because the point of it is the
comments: above every rule, how many observed flows and connections support it, on which
ports, with examples; flagged rules are written commented out, with the reason. Every
value is a JSON scalar or flow mapping (JSON is valid YAML), so nothing a label or id holds
can change the structure, and the loader reads the document back as it reads any model
file (``menshen inventory validate`` / ``import``). Also: the same content as JSON.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from menshen.segmentation.codec import rule_json, selector_json
from menshen.segmentation.suggest import SuggestedRule, Suggestion

API_VERSION = "menshen.dev/v1"


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str) -> str:
    return "# " + " ".join(text.split())


def support_text(item: SuggestedRule) -> str:
    """``2 flows, 4,410 connections (tcp/5432 ×4,410): settlement-admin → settlement-db``."""
    support = item.support
    ports = ", ".join(f"{port} ×{count:,}" for port, count in support.ports)
    flows = "flow" if support.flows == 1 else "flows"
    more = ", …" if support.flows > len(support.examples) else ""
    return (
        f"{support.flows} {flows}, {support.connections:,} connections ({ports}): "
        + "; ".join(support.examples)
        + more
    )


def suggestion_yaml(suggestion: Suggestion, at: datetime) -> str:
    """The suggestion as a model file (see the module docstring)."""
    lines = [
        _comment(
            f"Suggested by `menshen segment suggest` from {suggestion.observed:,} observed "
            f"flow(s), evaluated at {at.isoformat()}."
        ),
        _comment(
            f"{len(suggestion.enabled)} rule(s); {len(suggestion.flagged)} flagged and written "
            "disabled (commented out) for a person to decide."
        ),
        _comment("Review every rule, then: menshen inventory import <this file>"),
    ]
    lines += [_comment(note) for note in suggestion.notes]
    for reason, count in suggestion.skipped:
        lines.append(_comment(f"not suggested: {count:,} observed flow(s): {reason}"))
    lines += [
        f"apiVersion: {API_VERSION}",
        "kind: Segmentation",
        f"metadata: {{name: {_j(suggestion.name)}}}",
        "spec:",
    ]
    if suggestion.zones:
        lines.append("  zones:")
        for zone in suggestion.zones:
            body: dict[str, Any] = {"name": zone.name, "description": zone.description}
            if zone.selector is not None:
                body["select"] = selector_json(zone.selector)
            lines.append(f"    - {_j(body)}")
    lines += [
        "  ruleSets:",
        f"    - name: {_j(suggestion.name)}",
        f"      mode: {_j(suggestion.mode.value)}",
        f"      description: {_j(suggestion.rule_set().description)}",
    ]
    if suggestion.scope:
        lines.append(f"      scope: {_j(list(suggestion.scope))}")
    lines.append("      rules:" if suggestion.enabled else "      rules: []")
    for item in suggestion.rules:
        if item.flag:
            lines.append("        " + _comment(f"FLAGGED, disabled: {item.flag}."))
            lines.append("        " + _comment("Enable only if this access is intended."))
        lines.append("        " + _comment(support_text(item)))
        rule = f"- {_j(rule_json(item.rule))}"
        lines.append("        " + (f"# {rule}" if item.flag else rule))
    return "\n".join(lines) + "\n"


def suggestion_json(suggestion: Suggestion) -> dict[str, Any]:
    return {
        "name": suggestion.name,
        "mode": suggestion.mode.value,
        "observed": suggestion.observed,
        "scope": list(suggestion.scope),
        "zones": [
            {"name": zone.name, "select": selector_json(zone.selector)}
            for zone in suggestion.zones
            if zone.selector is not None
        ],
        "rules": [
            rule_json(item.rule)
            | {
                "enabled": not item.flag,
                "flag": item.flag or None,
                "support": {
                    "flows": item.support.flows,
                    "connections": item.support.connections,
                    "ports": {str(port): count for port, count in item.support.ports},
                    "examples": list(item.support.examples),
                },
            }
            for item in suggestion.rules
        ],
        "notes": list(suggestion.notes),
        "skipped": {reason: count for reason, count in suggestion.skipped},
    }
