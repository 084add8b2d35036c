"""The report as canonical JSON, and its content hash (pure).

The JSON is deterministic: keys sorted, no insignificant whitespace, UTF-8 (Chinese kept as
is), no NaN or infinity, times in ISO 8601 UTC. Its SHA-256 (FIPS 180-4) is the report's
**content hash**: what the tenant's key signs, what the HTML and PDF print, and what the
stored report record keeps. Bilingual texts carry both languages, so the content (and the
hash) of the same assessment is the same whatever language the report is printed in, apart
from the ``lang`` member.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from enum import Enum

from menshen.compliance.model import (
    Bilingual,
    ControlResult,
    Declaration,
    Evidence,
    FrameworkScore,
    JsonValue,
    StageStanding,
)
from menshen.compliance.report.document import ReportDocument
from menshen.errors import InvalidInput

__all__ = ["FORMAT", "canonical_bytes", "content_hash", "document_json", "to_json"]

FORMAT = "menshen-compliance-report/v1"


def canonical_bytes(value: JsonValue) -> bytes:
    """``value`` as canonical JSON bytes (sorted keys, compact, UTF-8)."""
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except ValueError as exc:
        raise InvalidInput(f"report content is not canonical JSON: {exc}") from None
    return text.encode("utf-8")


def content_hash(content: JsonValue) -> str:
    """The SHA-256 of the canonical JSON of ``content``, as lower-case hex."""
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def document_json(doc: ReportDocument) -> dict[str, JsonValue]:
    """Everything the report shows, as plain JSON values."""
    framework = doc.framework
    score = doc.assessment.score
    return {
        "format": FORMAT,
        "lang": doc.lang.value,
        "firm": doc.firm,
        "tenant": doc.tenant_id,
        "scope": doc.scope,
        "period": {"start": _time(doc.period_start), "end": _time(doc.period_end)},
        "generated_at": _time(doc.generated_at),
        "framework": {
            "id": framework.id,
            "title": to_json(framework.title),
            "publisher": framework.publisher,
            "version": framework.version,
            "kind": framework.kind,
            "binding": to_json(framework.binding),
            "stages": [s.id for s in framework.stages],
        },
        "not_a_regulator_score": True,
        "score": _score(score),
        "controls": [_control(result) for result in doc.assessment.results],
        "evidence": [
            {"check_id": row.check_id, "controls": list(row.controls), **_evidence(row.evidence)}
            for row in doc.evidence
        ],
        "declared": [r.control.id for r in doc.declared],
        "gaps": [to_json(gap) for gap in doc.gaps],
        "projected": (
            {"top": doc.projected_top, "score": _score(doc.projected)}
            if doc.projected is not None
            else None
        ),
        "trend": to_json(doc.trend),
        "roi": to_json(doc.roi) if doc.roi is not None else None,
        "summary": to_json(dict(doc.summary)),
    }


def _score(score: FrameworkScore) -> dict[str, JsonValue]:
    return {
        "counts": {outcome.value: n for outcome, n in score.counts.items()},
        "passed": score.passed,
        "assessed": score.assessed,
        "groups": [_standing(s) for s in score.groups],
        "facets": [_standing(s) for s in score.facets],
    }


def _standing(standing: StageStanding) -> dict[str, JsonValue]:
    return {
        "key": standing.key,
        "stage": standing.stage,
        "next_stage": standing.next_stage,
        "blocking": list(standing.blocking),
    }


def _control(result: ControlResult) -> dict[str, JsonValue]:
    control = result.control
    return {
        "id": control.id,
        "group": control.group,
        "stage": control.stage,
        "facets": list(control.facets),
        "title": to_json(control.title),
        "summary": to_json(control.summary),
        "checks": list(control.checks),
        "outcome": result.outcome.value,
        "basis": result.basis,
        "reason": to_json(result.reason),
        "evidence": [item.check_id for item in result.evidence],
        "declaration": _declaration(result.declaration),
    }


def _declaration(item: Declaration | None) -> JsonValue:
    if item is None:
        return None
    return to_json(item)


def _evidence(item: Evidence) -> dict[str, JsonValue]:
    return {
        "collected_at": _time(item.collected_at),
        "outcome": item.outcome.value,
        "value": item.value,
        "summary": to_json(item.summary),
        "data": to_json(dict(item.data)),
        "remedy": to_json(item.remedy) if item.remedy is not None else None,
        "affected": item.affected,
        "error": item.error,
    }


def _time(at: datetime) -> str:
    if at.tzinfo is None:
        raise InvalidInput("report times must carry a time zone")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_json(value: object) -> JsonValue:
    """A plain JSON value of ``value`` (dataclasses, enums, times, mappings, sequences)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Enum):
        return to_json(value.value)
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Bilingual):
        return {"en": value.en, "zh_tw": value.zh_tw}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(to_json(k)): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [to_json(v) for v in value]
        if isinstance(value, frozenset | set):
            items.sort(key=lambda v: canonical_bytes(v))
        return items
    raise InvalidInput(f"cannot put a {type(value).__name__} in the report JSON")
