"""A small, deterministic YAML writer for generated manifests (YAML 1.2 §7, §8).

The compilers are pure and may not use a YAML library, and their output must be the same
bytes for the same input. Manifests are plain data (mappings, sequences, strings, integers,
booleans), so block style is enough: every string is written double-quoted in JSON
spelling — a valid YAML double-quoted scalar — so no value can be misread (``on``, ``no``,
``1e3``, a leading ``*``); keys are written plain when they are simple names. Mappings keep
the order they were built in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

_PLAIN_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]*$")
_SPECIAL = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def dump_documents(documents: Sequence[Mapping[str, object]], header: Sequence[str] = ()) -> str:
    """A YAML stream: ``#`` header lines, then each document after ``---``."""
    out = [f"# {line}" if line else "#" for line in header]
    for document in documents:
        out.append("---")
        out.extend(_mapping(document, 0))
    return "\n".join(out) + "\n"


def _key(key: str) -> str:
    if _PLAIN_KEY.match(key) and key.lower() not in _SPECIAL:
        return key
    return json.dumps(key, ensure_ascii=False)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping) and not value:
        return "{}"
    if isinstance(value, Sequence) and not value:
        return "[]"
    raise TypeError(f"cannot write {type(value).__name__} as a YAML scalar")


def _mapping(mapping: Mapping[str, object], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            lines.append(f"{pad}{_key(key)}:")
            lines.extend(_mapping(value, indent + 2))
        elif isinstance(value, (list, tuple)) and value:
            lines.append(f"{pad}{_key(key)}:")
            lines.extend(_sequence(value, indent + 2))
        else:
            lines.append(f"{pad}{_key(key)}: {_scalar(value)}")
    return lines


def _sequence(items: Sequence[object], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, Mapping) and item:
            inner = _mapping(item, indent + 2)
            lines.append(f"{pad}- {inner[0][indent + 2 :]}")
            lines.extend(inner[1:])
        elif isinstance(item, (list, tuple)) and item:
            inner = _sequence(item, indent + 2)
            lines.append(f"{pad}- {inner[0][indent + 2 :]}")
            lines.extend(inner[1:])
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines
