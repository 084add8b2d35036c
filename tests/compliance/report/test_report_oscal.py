"""The OSCAL assessment-results export round-trips through an independent OSCAL model
library (compliance-trestle) and is deterministic."""

from __future__ import annotations

import json
from typing import Any

from trestle.oscal.assessment_results import AssessmentResults

from menshen.compliance.model import Lang
from menshen.compliance.report.canonical import content_hash, document_json
from menshen.compliance.report.oscal import NS, assessment_results, oscal_bytes

from .conftest import make_document

HASH = "0f" * 32


def _export(lang: Lang = Lang.EN) -> dict[str, Any]:
    doc = make_document(lang)
    exported: dict[str, Any] = json.loads(oscal_bytes(doc, content_hash(document_json(doc))))
    return exported


def _props(item: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in item.get("props", [])}


def test_oscal_export_round_trips_through_trestle() -> None:
    """trestle parses the export, and writing it back gives the same JSON."""
    for lang in Lang:
        exported = _export(lang)
        model = AssessmentResults.model_validate(exported["assessment-results"])
        written = model.oscal_serialize_json(pretty=False)
        # trestle writes UTC as +00:00 where menshen writes Z: the same instant
        assert json.loads(written.replace('+00:00"', 'Z"')) == exported
        reread = AssessmentResults.model_validate(json.loads(written)["assessment-results"])
        assert reread == model


def test_findings_carry_satisfied_or_not_per_control() -> None:
    """A pass is satisfied; fail and not-assessed are not-satisfied; not-applicable excluded."""
    result = _export()["assessment-results"]["results"][0]
    states = {f["target"]["target-id"]: f["target"]["status"] for f in result["findings"]}
    assert states["ZT-ID-1"]["state"] == "satisfied"
    assert states["ZT-DV-1"]["state"] == "satisfied"
    assert states["ZT-ID-2"] == {"state": "not-satisfied", "reason": "fail"}
    assert states["ZT-DV-2"] == {"state": "not-satisfied", "reason": "other"}
    assert "ZT-CARD-1" not in states
    selection = result["reviewed-controls"]["control-selections"][0]
    assert selection["exclude-controls"] == [{"control-id": "ZT-CARD-1"}]


def test_observations_carry_measured_evidence_and_declarations_apart() -> None:
    """Measured evidence is TEST with its collection time; a declaration is INTERVIEW and
    EXAMINE with the declared property, never TEST."""
    result = _export()["assessment-results"]["results"][0]
    by_check = {_props(o).get("check"): o for o in result["observations"]}
    measured = by_check["identity.mfa_enrolled"]
    assert measured["methods"] == ["TEST"]
    assert measured["collected"] == "2026-11-02T08:25:00Z"
    assert "user00" in measured["relevant-evidence"][0]["remarks"]
    declared = [o for o in result["observations"] if _props(o).get("declared") == "true"]
    assert len(declared) == 1
    assert declared[0]["methods"] == ["INTERVIEW", "EXAMINE"]
    assert all(p["ns"] == NS for p in declared[0]["props"])
    finding = next(f for f in result["findings"] if f["target"]["target-id"] == "ZT-DV-1")
    related = {r["observation-uuid"] for r in finding["related-observations"]}
    assert declared[0]["uuid"] in related


def test_uuids_are_deterministic_from_the_content_hash() -> None:
    """The same report gives the same UUIDs; another content hash gives others."""
    doc = make_document(Lang.EN)
    first = assessment_results(doc, HASH)
    assert assessment_results(doc, HASH) == first
    other = assessment_results(doc, "1e" * 32)
    assert first["assessment-results"]["uuid"] != other["assessment-results"]["uuid"]  # type: ignore[index, call-overload]
    assert first["assessment-results"]["uuid"][14] == "5"  # type: ignore[index, call-overload]


def test_metadata_names_the_framework_hash_and_binding_note() -> None:
    """Metadata carries the OSCAL version, the content hash and the binding remark."""
    exported = _export()["assessment-results"]
    metadata = exported["metadata"]
    assert metadata["oscal-version"].startswith("1.1.")
    assert len(_props(metadata)["content-sha256"]) == 64
    assert metadata["remarks"] == "Non-binding guidance."
    assert exported["import-ap"]["href"].startswith("#")
