"""Read firm rules from YAML files (one or more documents each) — the edge of the Sigma
subset; the checking lives in ``rule`` and the matching in ``compile``."""

from __future__ import annotations

from pathlib import Path

import yaml

from menshen.errors import InvalidInput
from menshen.monitor.sigma.rule import Rule, rule_from_mapping

__all__ = ["load_rules", "rules_from_text"]


def rules_from_text(text: str, origin: str = "rules") -> list[Rule]:
    """Every rule in ``text`` (YAML documents separated by ``---``)."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{origin}: not YAML: {exc}") from None
    return [rule_from_mapping(doc, f"{origin}#{n}") for n, doc in enumerate(documents, start=1)]


def load_rules(paths: list[Path]) -> list[Rule]:
    """Rules from files and from ``*.yml``/``*.yaml`` in directories, sorted by path."""
    files: list[Path] = []
    for path in paths:
        files += (
            sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml"))
            if path.is_dir()
            else [path]
        )
    rules: list[Rule] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{file}: {exc.strerror}") from None
        rules += rules_from_text(text, str(file))
    return rules
