"""The report as an OSCAL assessment-results document (NIST OSCAL 1.1, JSON format; pure).

One ``result`` covers the report period. Each evidence menshen measured becomes an
``observation`` (method ``TEST``, or ``EXAMINE`` for evidence read from records such as the
audit chain, with its collection time and the data summarised as relevant evidence); each
control the firm declared handled outside menshen is an observation with methods
``INTERVIEW`` and ``EXAMINE`` and a ``declared`` property, never ``TEST``. Each applicable,
assessed-or-not control gets a ``finding`` whose target status is ``satisfied`` (pass) or
``not-satisfied`` (partial, fail, not assessed — the exact outcome is in a property); controls
not applicable to the firm are excluded in ``reviewed-controls``.

Every UUID is a version-5 UUID of the report's content hash and the object's role, so the
same report always yields the same document. ``import-ap`` points at a placeholder: menshen
has no OSCAL assessment plan to import.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from menshen.compliance.model import ControlResult, JsonValue, Lang, Outcome
from menshen.compliance.report.canonical import canonical_bytes
from menshen.compliance.report.document import EvidenceRow, ReportDocument

__all__ = ["NS", "OSCAL_VERSION", "assessment_results", "oscal_bytes"]

OSCAL_VERSION = "1.1.2"
NS = "https://menshen.dev/ns/oscal"
_ROOT = uuid.UUID("6d656e73-6865-5e00-8000-6f7363616c00")
_TOKEN = re.compile(r"^[_A-Za-z][_A-Za-z0-9.\-]*$")
# Checks read from records rather than exercised; everything else is a test of the system.
_EXAMINED_PREFIXES = ("audit.", "inventory.", "records.")


def oscal_bytes(doc: ReportDocument, content_sha256: str) -> bytes:
    """The assessment results as canonical JSON bytes."""
    return canonical_bytes(assessment_results(doc, content_sha256)) + b"\n"


def assessment_results(doc: ReportDocument, content_sha256: str) -> dict[str, JsonValue]:
    """The OSCAL ``assessment-results`` document of ``doc`` (signed as ``content_sha256``)."""

    def uid(*parts: str) -> str:
        return str(uuid.uuid5(_ROOT, "\x00".join((content_sha256, *parts))))

    lang = doc.lang
    title = f"{doc.framework.title.get(lang)} — {doc.firm}"
    observations: list[JsonValue] = []
    observation_of: dict[str, str] = {}
    for row in doc.evidence:
        observation_of[row.check_id] = uid("observation", row.check_id)
        observations.append(_measured(row, observation_of[row.check_id], lang))
    for result in doc.declared:
        key = f"declared:{result.control.id}"
        observation_of[key] = uid("observation", key)
        observations.append(_declared(result, observation_of[key], doc.generated_at))
    findings: list[JsonValue] = []
    included: list[JsonValue] = []
    excluded: list[JsonValue] = []
    for result in doc.assessment.results:
        control_id = _token(result.control.id)
        if result.outcome is Outcome.NOT_APPLICABLE:
            excluded.append({"control-id": control_id})
            continue
        included.append({"control-id": control_id})
        findings.append(_finding(result, uid("finding", result.control.id), observation_of, lang))
    selection: dict[str, JsonValue] = {"include-controls": included} if included else {}
    if excluded:
        selection["exclude-controls"] = excluded
    if not included:
        selection["include-all"] = {}
    result_body: dict[str, JsonValue] = {
        "uuid": uid("result"),
        "title": title,
        "description": _description(doc),
        "start": _time(doc.period_start),
        "end": _time(doc.period_end),
        "props": [
            _prop("framework", doc.framework.id),
            _prop("passed", str(doc.assessment.score.passed)),
            _prop("assessed", str(doc.assessment.score.assessed)),
        ],
        "reviewed-controls": {"control-selections": [selection]},
    }
    if observations:
        result_body["observations"] = observations
    if findings:
        result_body["findings"] = findings
    return {
        "assessment-results": {
            "uuid": uid("assessment-results"),
            "metadata": {
                "title": title,
                "last-modified": _time(doc.generated_at),
                "version": content_sha256[:16],
                "oscal-version": OSCAL_VERSION,
                "props": [
                    _prop("tenant", _token(doc.tenant_id)),
                    _prop("content-sha256", content_sha256),
                    _prop("lang", doc.lang.value),
                ],
                "remarks": doc.framework.binding.get(lang),
            },
            "import-ap": {"href": "#menshen-no-assessment-plan"},
            "results": [result_body],
        }
    }


def _measured(row: EvidenceRow, observation_uuid: str, lang: Lang) -> dict[str, JsonValue]:
    item = row.evidence
    method = "EXAMINE" if row.check_id.startswith(_EXAMINED_PREFIXES) else "TEST"
    props: list[JsonValue] = [
        _prop("check", _token(row.check_id)),
        _prop("outcome", item.outcome.value),
    ]
    if item.value is not None:
        props.append(_prop("value", f"{item.value:g}"))
    if item.affected:
        props.append(_prop("affected", str(item.affected)))
    evidence: dict[str, JsonValue] = {
        "description": _text(item.summary.get(lang)),
        "remarks": _text(canonical_bytes(dict(item.data)).decode("utf-8")[:4000]),
    }
    body: dict[str, JsonValue] = {
        "uuid": observation_uuid,
        "title": _text(row.title.get(lang)),
        "description": _text(item.summary.get(lang)),
        "methods": [method],
        "types": ["finding" if item.outcome is not Outcome.PASS else "control-objective"],
        "props": props,
        "relevant-evidence": [evidence],
        "collected": _time(item.collected_at),
    }
    if item.error:
        body["remarks"] = _text(f"collector error: {item.error}")
    return body


def _declared(result: ControlResult, observation_uuid: str, at: datetime) -> dict[str, JsonValue]:
    declaration = result.declaration
    justification = declaration.justification if declaration is not None else ""
    props: list[JsonValue] = [_prop("declared", "true"), _prop("outcome", result.outcome.value)]
    body: dict[str, JsonValue] = {
        "uuid": observation_uuid,
        "title": _text(f"Declared by the firm: {result.control.id}"),
        "description": _text(justification or "Declared handled outside menshen."),
        "methods": ["INTERVIEW", "EXAMINE"],
        "props": props,
        "collected": _time(declaration.at if declaration is not None else at),
    }
    if declaration is not None and declaration.attachment_sha256:
        name = declaration.attachment_name or "attachment"
        body["relevant-evidence"] = [
            {"description": _text(f"{name} (sha256 {declaration.attachment_sha256})")}
        ]
    return body


def _finding(
    result: ControlResult, finding_uuid: str, observation_of: dict[str, str], lang: Lang
) -> dict[str, JsonValue]:
    satisfied = result.outcome is Outcome.PASS
    status: dict[str, JsonValue] = {"state": "satisfied" if satisfied else "not-satisfied"}
    if not satisfied:
        status["reason"] = "fail" if result.outcome is Outcome.FAIL else "other"
    related = [observation_of[e.check_id] for e in result.evidence if e.check_id in observation_of]
    declared_key = f"declared:{result.control.id}"
    if declared_key in observation_of:
        related.append(observation_of[declared_key])
    body: dict[str, JsonValue] = {
        "uuid": finding_uuid,
        "title": _text(result.control.title.get(lang)),
        "description": _text(result.reason.get(lang)),
        "props": [
            _prop("control", result.control.id),  # the catalog's id (target-id is a token)
            _prop("outcome", result.outcome.value),
            _prop("basis", result.basis),
        ],
        "target": {
            "type": "objective-id",
            "target-id": _token(result.control.id),
            "status": status,
        },
    }
    if related:
        body["related-observations"] = [{"observation-uuid": u} for u in dict.fromkeys(related)]
    return body


def _description(doc: ReportDocument) -> str:
    score = doc.assessment.score
    return (
        f"menshen's own measurement of {doc.firm} against {doc.framework.id}: "
        f"{score.passed} of {score.assessed} assessed controls pass. "
        "Not a regulator's score."
    )


def _prop(name: str, value: str) -> dict[str, JsonValue]:
    return {"name": name, "ns": NS, "value": _text(value)}


def _token(value: str) -> str:
    """An OSCAL token: letters, digits, ``_ . -``, starting with a letter or underscore."""
    cleaned = re.sub(r"[^_A-Za-z0-9.\-]", "_", value)
    return cleaned if _TOKEN.match(cleaned) else f"_{cleaned}"


def _text(value: str) -> str:
    """An OSCAL string: no leading or trailing whitespace, never empty."""
    stripped = value.strip()
    return stripped or "-"


def _time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
