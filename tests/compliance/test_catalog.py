"""The packaged control catalogs: they load, use every check, speak both languages, map
between existing controls, and give the staged frameworks a meaningful ladder."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from menshen.compliance.catalog import load_catalog, packaged_files
from menshen.compliance.checks import CHECKS
from menshen.compliance.model import Catalog, Control
from menshen.errors import InvalidInput

FRAMEWORKS = {
    "fsc-zta",
    "gov-zta",
    "cs-act",
    "bank-vendor",
    "nist-800-207",
    "cisa-ztmm",
    "pci-dss-8",
    "iso-27001",
    "nist-800-53",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _controls(catalog: Catalog) -> list[Control]:
    return [control for fw in catalog.frameworks.values() for control in fw.controls]


def test_every_packaged_framework_loads(catalog: Catalog) -> None:
    """Each framework id has its file, and nothing else is packaged."""
    assert set(catalog.frameworks) == FRAMEWORKS
    names = {name.rsplit("/", 1)[-1] for name, _ in packaged_files()}
    assert names == {f"{framework}.yaml" for framework in FRAMEWORKS} | {"mappings.yaml"}
    for framework in catalog.frameworks.values():
        assert framework.controls, framework.id
        assert framework.publisher, framework.id
        assert framework.version, framework.id


def test_every_check_is_used_by_a_control(catalog: Catalog) -> None:
    """Every measurement in CHECKS evidences at least one control."""
    used = {check for control in _controls(catalog) for check in control.checks}
    assert sorted(set(CHECKS) - used) == []


def test_every_control_names_only_known_checks(catalog: Catalog) -> None:
    """No control refers to a check menshen does not measure."""
    for control in _controls(catalog):
        assert set(control.checks) <= set(CHECKS), control.id


def test_every_text_is_in_both_languages(catalog: Catalog) -> None:
    """Titles, summaries and binding notes have English and Chinese (with CJK) texts."""
    texts = []
    for framework in catalog.frameworks.values():
        texts += [(framework.id, framework.title), (framework.id, framework.binding)]
        if framework.note is not None:
            texts.append((framework.id, framework.note))
        texts += [(framework.id, d.title) for d in framework.groups + framework.facets]
        texts += [(framework.id, stage.title) for stage in framework.stages]
        for control in framework.controls:
            texts += [(control.id, control.title), (control.id, control.summary)]
    for where, text in texts:
        assert text.en.strip(), where
        assert text.zh_tw.strip(), where
        assert CJK.search(text.zh_tw), where
        assert text.en != text.zh_tw, where


def test_chinese_texts_use_traditional_characters(catalog: Catalog) -> None:
    """Common simplified forms (证, 认, 数, 设备's 设) never appear in the zh-TW texts."""
    simplified = set("证认数设据权访网络应险态实")
    for control in _controls(catalog):
        text = control.title.zh_tw + control.summary.zh_tw
        assert not simplified & set(text), control.id


def test_control_ids_are_unique_across_frameworks(catalog: Catalog) -> None:
    """No id appears twice, and every id carries its framework's prefix."""
    counts = Counter(control.id for control in _controls(catalog))
    assert [cid for cid, n in counts.items() if n > 1] == []
    for control in _controls(catalog):
        assert control.id.startswith(f"{control.framework}/"), control.id


def test_mapping_endpoints_exist_in_other_frameworks(catalog: Catalog) -> None:
    """Each mapping joins two existing controls of two different frameworks."""
    known = {control.id: control.framework for control in _controls(catalog)}
    assert len(catalog.mappings) >= 50
    for mapping in catalog.mappings:
        assert mapping.source in known, mapping
        assert mapping.target in known, mapping
        assert known[mapping.source] != known[mapping.target], mapping
    assert any(
        m.source == "pci-dss-8/8.4.2" and m.target == "nist-800-53/IA-2(1)"
        for m in catalog.mappings
    )
    fsc_to_ztmm = [
        m
        for m in catalog.mappings
        if m.source.startswith("fsc-zta/") and m.target.startswith("cisa-ztmm/")
    ]
    assert len(fsc_to_ztmm) >= 10


def test_staged_frameworks_place_every_control_on_a_stage(catalog: Catalog) -> None:
    """FSC and ZTMM are staged; every control has a declared stage, and each group has
    controls on at least three stages so the ladder means something."""
    for framework_id in ("fsc-zta", "cisa-ztmm"):
        framework = catalog.framework(framework_id)
        assert framework.kind == "staged"
        assert [s.id for s in framework.stages] == ["traditional", "initial", "advanced", "optimal"]
        for group in framework.groups:
            stages = {c.stage for c in framework.controls if c.group == group.id}
            assert None not in stages
            assert len(stages) >= 3 - (group.id == "governance"), (framework_id, group.id)


def test_ztmm_authentication_ladder_follows_what_menshen_measures(catalog: Catalog) -> None:
    """Initial = MFA for all; advanced = phishing-resistant; optimal = continuous validation."""
    ztmm = catalog.framework("cisa-ztmm")
    ladder = {
        c.stage: set(c.checks) for c in ztmm.controls if "identity.authentication" in c.facets
    }
    assert "identity.mfa_enrolled" in ladder["initial"]
    assert ladder["advanced"] == {
        "identity.phishing_resistant_mfa",
        "identity.phishing_resistant_admin",
    }
    assert ladder["optimal"] == {"identity.central_idp", "app.risk_aware_policy"}


def test_fsc_covers_five_dimensions_and_six_scenarios(catalog: Catalog) -> None:
    """Each access dimension reaches every stage; each scenario has its own control."""
    fsc = catalog.framework("fsc-zta")
    assert [g.id for g in fsc.groups] == ["identity", "device", "network", "application", "data"]
    for group in fsc.groups:
        stages = {c.stage for c in fsc.controls if c.group == group.id}
        assert stages == {"traditional", "initial", "advanced", "optimal"}, group.id
    for facet in fsc.facets:
        assert fsc.control(f"fsc-zta/scenario.{facet.id}") is not None, facet.id
    assert len(fsc.facets) == 6


def test_fsc_guidelines_say_they_bind_no_one(catalog: Catalog) -> None:
    """The FSC note says non-binding, no deadline, no score, in both languages."""
    binding = catalog.framework("fsc-zta").binding
    assert "non-binding" in binding.en
    assert "no score" in binding.en
    assert "不具強制性" in binding.zh_tw
    assert "無評分" in binding.zh_tw


def test_profile_flags_gate_the_right_controls(catalog: Catalog) -> None:
    """PCI needs card data, the CS Act critical infrastructure, e-payment items e-payment."""
    assert {c.applies_if for c in catalog.framework("pci-dss-8").controls} == {"card_data"}
    assert {c.applies_if for c in catalog.framework("cs-act").controls} == {
        "critical_infrastructure"
    }
    vendor = catalog.framework("bank-vendor")
    assert {c.applies_if for c in vendor.controls if c.group == "e_payment"} == {"e_payment"}
    assert {c.applies_if for c in vendor.controls if c.group != "e_payment"} == {None}


def test_declared_only_controls_are_few(catalog: Catalog) -> None:
    """Controls menshen cannot measure (declared by the firm) stay under a tenth."""
    controls = _controls(catalog)
    declared = [c.id for c in controls if not c.checks]
    assert 0 < len(declared) <= len(controls) // 10, declared


def test_unknown_framework_is_a_clear_error(catalog: Catalog) -> None:
    """Asking for a framework that is not in the catalog names the known ones."""
    with pytest.raises(InvalidInput, match=r"unknown framework 'fsc'.*fsc-zta"):
        catalog.framework("fsc")


def test_loading_twice_gives_equal_catalogs(catalog: Catalog) -> None:
    """Loading has no hidden state: a second load equals the first."""
    assert load_catalog() == catalog
