"""Load the control catalogs: YAML data files, one per framework, plus mapping files.

The packaged catalogs (``menshen/compliance/catalogs/``) cover the FSC zero-trust guidelines
(2024-07-15), the government zero-trust mechanisms, the Cyber Security Management Act's system
protection baseline, the bank-vendor rules, NIST SP 800-207 §2.1, CISA ZTMM v2.0, PCI DSS
v4.0.1 requirement 8, ISO/IEC 27001:2022 Annex A and NIST SP 800-53 rev5 (see
docs/compliance.md). Their titles and summaries are our own paraphrases, never a standard's text.

File rules: ``<framework id>.yaml`` holds one framework; ``mappings.yaml`` (or
``<name>.mappings.yaml``) holds mappings. Every problem — unknown check, duplicate control,
undeclared stage/group/facet, unprefixed id, missing language, unknown flag or key, a mapping
to a control that does not exist — is collected and raised as one ``CatalogError`` whose lines
each name the file, the control and the problem. Nothing is cached here: callers keep the
``Catalog`` they load.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePath
from types import MappingProxyType

import yaml

from menshen.compliance.catalog_parse import (
    CatalogProblem,
    Problems,
    framework_of,
    mappings_of,
)
from menshen.compliance.checks import CHECKS
from menshen.compliance.model import Catalog, Framework, Mapping_
from menshen.errors import InvalidInput

__all__ = [
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "CatalogError",
    "CatalogProblem",
    "load_catalog",
    "packaged_files",
    "parse_catalog",
]

_SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
MAX_FILE_BYTES = 512 * 1024
MAX_FILES = 64
_SHOWN = 25


class CatalogError(InvalidInput):
    """A catalog file is wrong; ``problems`` lists each (file, control, problem)."""

    def __init__(self, problems: Sequence[CatalogProblem]) -> None:
        self.problems = tuple(problems)
        lines = [str(problem) for problem in self.problems[:_SHOWN]]
        if len(self.problems) > _SHOWN:
            lines.append(f"... and {len(self.problems) - _SHOWN} more")
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} in the control catalogs:\n  " + "\n  ".join(lines))


def is_mapping_file(name: str) -> bool:
    """Whether the file ``name`` holds mappings rather than a framework."""
    return name == "mappings.yaml" or name.endswith(".mappings.yaml")


def _document(text: str, out: Problems) -> object:
    try:
        # The same safe loader as yaml.safe_load, in C when libyaml is there (about 8x faster).
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        reason = getattr(exc, "problem", None) or "not valid YAML"
        out.add(where, f"not valid YAML: {reason}")
        return None


def parse_catalog(
    files: Iterable[tuple[str, str]], checks: Collection[str] = CHECKS.keys()
) -> Catalog:
    """The catalog that ``files`` (path, text) define, checked as a whole (pure). A file's
    base name says what it holds: mappings, or the framework whose id is its stem."""
    problems: list[CatalogProblem] = []
    frameworks: dict[str, Framework] = {}
    mappings: list[tuple[str, Mapping_]] = []
    for name, text in files:
        out = Problems(name)
        document = _document(text, out)
        if out.items:
            problems += out.items
            continue
        base = PurePath(name).name
        if is_mapping_file(base):
            mappings += [(name, mapping) for mapping in mappings_of(document, out)]
        elif base.endswith(".yaml"):
            framework = framework_of(document, base.removesuffix(".yaml"), checks, out)
            if framework is not None and framework.id in frameworks:
                out.add("framework", f"framework {framework.id!r} is defined twice")
            elif framework is not None and framework.id:
                frameworks[framework.id] = framework
        else:
            out.add("file", "catalog files end in .yaml")
        problems += out.items
    problems += _mapping_problems(frameworks, mappings)
    if problems:
        raise CatalogError(problems)
    return Catalog(
        frameworks=MappingProxyType(dict(sorted(frameworks.items()))),
        mappings=tuple(mapping for _, mapping in mappings),
    )


def _mapping_problems(
    frameworks: dict[str, Framework], mappings: Sequence[tuple[str, Mapping_]]
) -> list[CatalogProblem]:
    """A mapping whose source or target control does not exist, or one listed in two files."""
    known = {control.id for framework in frameworks.values() for control in framework.controls}
    problems: list[CatalogProblem] = []
    seen: dict[tuple[str, str], str] = {}
    for name, mapping in mappings:
        where = f"mapping {mapping.source} -> {mapping.target}"
        for end, control_id in (("source", mapping.source), ("target", mapping.target)):
            if control_id not in known:
                framework = control_id.split("/", 1)[0]
                why = "no such control" if framework in frameworks else "no such framework"
                problems.append(CatalogProblem(name, where, f"{end} {control_id!r}: {why}"))
        first = seen.setdefault((mapping.source, mapping.target), name)
        if first != name:
            problems.append(CatalogProblem(name, where, f"also listed in {first}"))
    return problems


def _read(item: Traversable | Path, name: str) -> str:
    """The text of one catalog file, at most ``MAX_FILE_BYTES``."""
    try:
        with item.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CatalogError([CatalogProblem(name, "file", f"cannot read: {exc.strerror}")]) from None
    if len(data) > MAX_FILE_BYTES:
        problem = CatalogProblem(name, "file", f"larger than {MAX_FILE_BYTES} bytes")
        raise CatalogError([problem])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogError([CatalogProblem(name, "file", "not UTF-8 text")]) from None


def _listing(folder: Traversable | Path, label: str) -> list[tuple[str, str]]:
    """(display name, text) of the ``*.yaml`` files in ``folder``, sorted, bounded."""
    try:
        names = sorted(entry.name for entry in folder.iterdir())
    except OSError as exc:
        raise CatalogError([CatalogProblem(label, "directory", f"cannot list: {exc}")]) from None
    misnamed = [name for name in names if name.endswith(".yml")]
    if misnamed:
        problems = [CatalogProblem(f"{label}/{n}", "file", "rename to .yaml") for n in misnamed]
        raise CatalogError(problems)
    entries = [folder.joinpath(name) for name in names if name.endswith(".yaml")]
    if not entries:
        raise CatalogError([CatalogProblem(label, "directory", "holds no *.yaml catalog files")])
    if len(entries) > MAX_FILES:
        raise CatalogError([CatalogProblem(label, "directory", f"more than {MAX_FILES} files")])
    return [(f"{label}/{entry.name}", _read(entry, f"{label}/{entry.name}")) for entry in entries]


def packaged_files() -> list[tuple[str, str]]:
    """The catalog files shipped in the package, as (name, text)."""
    folder = resources.files("menshen.compliance").joinpath("catalogs")
    return _listing(folder, "menshen/compliance/catalogs")


def load_catalog(directory: Path | None = None, *, extra: Sequence[Path] = ()) -> Catalog:
    """The catalogs in ``directory`` (the packaged ones when ``None``) plus the firm's own
    catalog and mapping files in each ``extra`` directory, validated together."""
    files = packaged_files() if directory is None else _listing(directory, str(directory))
    for folder in extra:
        files += _listing(folder, str(folder))
    if len(files) > MAX_FILES:
        raise CatalogError(
            [CatalogProblem("catalogs", "directory", f"more than {MAX_FILES} files")]
        )
    return parse_catalog(files)
