"""Broken catalog files give one clear error naming the file, the control and the problem;
a firm's own catalog and mapping files load beside the packaged ones."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.compliance.catalog import (
    MAX_FILE_BYTES,
    CatalogError,
    CatalogProblem,
    load_catalog,
    parse_catalog,
)
from menshen.errors import InvalidInput


def _text(en: str) -> dict[str, str]:
    return {"en": en, "zh-TW": f"中文{en}"}


def _framework(framework_id: str = "acme", staged: bool = True) -> dict[str, Any]:
    control: dict[str, Any] = {
        "id": f"{framework_id}/mfa.initial",
        "group": "identity",
        "title": _text("MFA"),
        "summary": _text("Everyone has MFA"),
        "checks": ["identity.mfa_enrolled"],
        "facets": ["remote"],
    }
    document: dict[str, Any] = {
        "id": framework_id,
        "kind": "staged" if staged else "checklist",
        "publisher": "Acme",
        "version": "1",
        "title": _text("Acme rules"),
        "binding": _text("Internal"),
        "groups": [{"id": "identity", "title": _text("Identity")}],
        "facets": [{"id": "remote", "title": _text("Remote")}],
        "controls": [control],
    }
    if staged:
        document["stages"] = [
            {"id": "initial", "title": _text("Initial")},
            {"id": "advanced", "title": _text("Advanced")},
        ]
        control["stage"] = "initial"
    return document


def _write(folder: Path, name: str, document: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _problems(folder: Path) -> list[str]:
    with pytest.raises(CatalogError) as raised:
        load_catalog(folder)
    return [str(problem) for problem in raised.value.problems]


Mutation = Callable[[dict[str, Any]], None]


def _control(doc: dict[str, Any]) -> dict[str, Any]:
    control: dict[str, Any] = doc["controls"][0]
    return control


CASES: list[tuple[str, Mutation, str]] = [
    (
        "unknown check",
        lambda d: _control(d).update(checks=["identity.mfa_enroled"]),
        "acme/mfa.initial: unknown check 'identity.mfa_enroled' "
        "(did you mean 'identity.mfa_enrolled'?)",
    ),
    (
        "duplicate control",
        lambda d: d["controls"].append(copy.deepcopy(_control(d))),
        "acme/mfa.initial: duplicate control id",
    ),
    (
        "undeclared stage",
        lambda d: _control(d).update(stage="optimal"),
        "acme/mfa.initial: stage 'optimal' is not declared in the framework",
    ),
    (
        "missing stage",
        lambda d: _control(d).pop("stage"),
        "acme/mfa.initial: missing key 'stage' (the framework is staged)",
    ),
    (
        "undeclared group",
        lambda d: _control(d).update(group="devices"),
        "acme/mfa.initial: group 'devices' is not declared in the framework",
    ),
    (
        "undeclared facet",
        lambda d: _control(d).update(facets=["remote", "cloud"]),
        "acme/mfa.initial: facet 'cloud' is not declared in the framework",
    ),
    (
        "unprefixed id",
        lambda d: _control(d).update(id="other/mfa.initial"),
        "other/mfa.initial: control id must be acme/<id>",
    ),
    (
        "missing zh-TW",
        lambda d: _control(d)["summary"].pop("zh-TW"),
        "acme/mfa.initial: summary: missing zh-TW text",
    ),
    (
        "missing en",
        lambda d: _control(d)["title"].update(en="  "),
        "acme/mfa.initial: title: missing en text",
    ),
    (
        "unknown flag",
        lambda d: _control(d).update(applies_if="crypto_assets"),
        "acme/mfa.initial: unknown applies_if flag 'crypto_assets' (allowed: card_data, "
        "critical_infrastructure, e_payment, machine_clients)",
    ),
    (
        "unknown control key",
        lambda d: _control(d).update(weight=3),
        "acme/mfa.initial: unknown key 'weight'",
    ),
    (
        "unknown framework key",
        lambda d: d.update(deadline="2027-12-31"),
        "framework: unknown key 'deadline'",
    ),
    (
        "bad combine",
        lambda d: _control(d).update(combine="most"),
        "acme/mfa.initial: combine must be 'all' or 'any', not 'most'",
    ),
    (
        "id not the file name",
        lambda d: d.update(id="acme2"),
        "framework: id 'acme2' does not match the file name 'acme'",
    ),
    (
        "stage in a checklist",
        lambda d: d.update(kind="checklist", stages=[]),
        "acme/mfa.initial: a checklist framework's control takes no stage",
    ),
    (
        "unused facet",
        lambda d: d["facets"].append({"id": "cloud", "title": _text("Cloud")}),
        "facets: facet 'cloud' has no controls",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_framework_file_names_file_control_and_problem(
    tmp_path: Path, mutate: Mutation, expected: str
) -> None:
    """Each kind of mistake is reported with the file, the control and what is wrong."""
    document = _framework()
    mutate(document)
    _write(tmp_path, "acme.yaml", document)
    problems = _problems(tmp_path)
    assert any(p.startswith(f"{tmp_path}/acme.yaml: {expected}") for p in problems), problems


def test_valid_small_catalog_loads(tmp_path: Path) -> None:
    """The unmutated fixture is valid, so each broken case fails for its own reason."""
    _write(tmp_path, "acme.yaml", _framework())
    catalog = load_catalog(tmp_path)
    control = catalog.framework("acme").controls[0]
    assert control.checks == ("identity.mfa_enrolled",)
    assert control.summary.zh_tw == "中文Everyone has MFA"
    assert control.stage == "initial"
    assert control.facets == ("remote",)


def test_broken_mapping_names_the_missing_control(tmp_path: Path) -> None:
    """A mapping to a control that does not exist is an error naming both ends."""
    _write(tmp_path, "acme.yaml", _framework())
    _write(tmp_path, "other.yaml", _framework("other", staged=False) | {"facets": []})
    other = yaml.safe_load((tmp_path / "other.yaml").read_text(encoding="utf-8"))
    _control(other).pop("facets")
    _write(tmp_path, "other.yaml", other)
    mappings = [
        {"source": "acme/mfa.initial", "target": "other/mfa.initial", "relation": "related"},
        {"source": "acme/mfa.initial", "target": "other/mfa.advanced", "relation": "subset"},
        {"source": "ghost/x", "target": "other/mfa.initial", "relation": "related"},
    ]
    _write(tmp_path, "mappings.yaml", {"mappings": mappings})
    problems = _problems(tmp_path)
    mapping_file = f"{tmp_path}/mappings.yaml"
    assert problems == [
        f"{mapping_file}: mapping acme/mfa.initial -> other/mfa.advanced: "
        "target 'other/mfa.advanced': no such control",
        f"{mapping_file}: mapping ghost/x -> other/mfa.initial: "
        "source 'ghost/x': no such framework",
    ]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"source": "acme/mfa.initial", "target": "acme/mfa.initial", "relation": "related"},
            "joins controls of two different frameworks",
        ),
        (
            {"source": "acme/mfa.initial", "target": "x/y", "relation": "same"},
            "relation must be one of equivalent, subset, related, not 'same'",
        ),
        ({"source": "acme/mfa.initial", "relation": "related"}, "missing key 'target'"),
        (
            {"source": "a/b", "target": "x/y", "relation": "related", "note": "n"},
            "unknown key 'note'",
        ),
    ],
)
def test_malformed_mapping_is_rejected(tmp_path: Path, item: dict[str, str], expected: str) -> None:
    """A mapping with a bad relation, a missing end or an unknown key is an error."""
    _write(tmp_path, "acme.yaml", _framework())
    _write(tmp_path, "mappings.yaml", {"mappings": [item]})
    problems = _problems(tmp_path)
    assert any(p.startswith(f"{tmp_path}/mappings.yaml: mapping #1") for p in problems)
    assert any(expected in p for p in problems), problems


def test_not_yaml_names_the_line(tmp_path: Path) -> None:
    """A file that is not YAML is reported with its line."""
    (tmp_path / "acme.yaml").write_text("id: acme\ncontrols: [\n  - x: 1\n", encoding="utf-8")
    problems = _problems(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path}/acme.yaml: line ")
    assert "not valid YAML" in problems[0]


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    """A file beyond the size bound is refused without being parsed."""
    (tmp_path / "acme.yaml").write_text("#" * (MAX_FILE_BYTES + 1), encoding="utf-8")
    assert _problems(tmp_path) == [
        f"{tmp_path}/acme.yaml: file: larger than {MAX_FILE_BYTES} bytes"
    ]


def test_alias_bomb_is_reported_without_expanding_it(tmp_path: Path) -> None:
    """Nested YAML aliases (a billion leaves) in a value give a short error, fast."""
    document = _framework()
    _control(document)["combine"] = "BOMB"
    text = yaml.safe_dump(document, allow_unicode=True).replace("combine: BOMB", "combine: *l9")
    levels = ["bomb:", '  l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    levels += [f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 10)]
    (tmp_path / "acme.yaml").write_text("\n".join(levels) + "\n" + text, encoding="utf-8")
    problems = _problems(tmp_path)
    assert f"{tmp_path}/acme.yaml: framework: unknown key 'bomb'" in problems[0]
    assert any("combine must be 'all' or 'any', not a list" in p for p in problems)
    assert max(len(p) for p in problems) < 400


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    """A directory without catalog files is an error, not an empty catalog."""
    assert _problems(tmp_path) == [f"{tmp_path}: directory: holds no *.yaml catalog files"]


def test_yml_file_is_not_silently_skipped(tmp_path: Path) -> None:
    """A catalog saved as .yml is an error asking for .yaml, not an ignored file."""
    _write(tmp_path, "acme.yaml", _framework())
    _write(tmp_path, "extra.yml", _framework("extra"))
    assert _problems(tmp_path) == [f"{tmp_path}/extra.yml: file: rename to .yaml"]


def test_missing_directory_is_a_catalog_error(tmp_path: Path) -> None:
    """A directory that does not exist is reported by name."""
    problems = _problems(tmp_path / "absent")
    assert problems[0].startswith(f"{tmp_path}/absent: directory: cannot list:")


def test_catalog_error_is_invalid_input_listing_every_problem(tmp_path: Path) -> None:
    """All problems are reported at once, in a message a person can read."""
    document = _framework()
    _control(document).update(checks=["nope"], group="nowhere")
    _write(tmp_path, "acme.yaml", document)
    with pytest.raises(InvalidInput) as raised:
        load_catalog(tmp_path)
    message = str(raised.value)
    assert message.startswith("3 problems in the control catalogs:")
    assert "unknown check 'nope'" in message
    assert "group 'nowhere'" in message
    assert "group 'identity' has no controls" in message


def test_firm_catalog_and_mappings_load_beside_the_packaged_ones(tmp_path: Path) -> None:
    """A firm adds its own framework and maps it to a packaged control."""
    _write(tmp_path, "acme.yaml", _framework())
    mappings = [
        {"source": "acme/mfa.initial", "target": "nist-800-53/IA-2", "relation": "subset"},
    ]
    _write(tmp_path, "acme.mappings.yaml", {"mappings": mappings})
    catalog = load_catalog(extra=[tmp_path])
    assert "acme" in catalog.frameworks
    assert "fsc-zta" in catalog.frameworks
    assert catalog.mappings[-1].target == "nist-800-53/IA-2"


def test_firm_cannot_redefine_a_packaged_framework(tmp_path: Path) -> None:
    """A second file defining a packaged framework id is an error, not an override."""
    document = _framework("pci-dss-8", staged=False)
    _control(document).pop("facets")
    document["facets"] = []
    _write(tmp_path, "pci-dss-8.yaml", document)
    with pytest.raises(CatalogError, match="framework 'pci-dss-8' is defined twice"):
        load_catalog(extra=[tmp_path])


_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["id", "kind", "controls", "groups", "title", "en", "zh-TW", "mappings"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
_FRAMEWORK_KEYS = sorted(_framework())
_CONTROL_KEYS = [*sorted(_control(_framework())), "applies_if", "combine"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_yaml_values, name=st.sampled_from(["acme.yaml", "mappings.yaml"]))
def test_arbitrary_documents_give_a_catalog_error_or_a_catalog(document: object, name: str) -> None:
    """The parser never fails with anything but CatalogError, whatever the document."""
    problems: tuple[object, ...] = ("no error",)
    try:
        parse_catalog([(name, yaml.safe_dump(document))])
    except CatalogError as error:
        problems = error.problems
    assert problems


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    framework_key=st.sampled_from(_FRAMEWORK_KEYS),
    control_key=st.sampled_from(_CONTROL_KEYS),
    in_control=st.booleans(),
    value=_yaml_values,
)
def test_one_bad_value_in_a_valid_file_gives_a_catalog_error(
    framework_key: str, control_key: str, in_control: bool, value: object
) -> None:
    """Replacing any one value of a valid file yields a catalog or a CatalogError naming it."""
    document = _framework()
    if in_control:
        _control(document)[control_key] = value
    else:
        document[framework_key] = value
    problems: tuple[CatalogProblem, ...] = ()
    try:
        parse_catalog([("acme.yaml", yaml.safe_dump(document, allow_unicode=True))])
    except CatalogError as error:
        problems = error.problems
    assert all(p.file == "acme.yaml" and p.where and p.message for p in problems)
