"""Safe YAML with line numbers, so every complaint about a file can name its line.

YAML 1.1 as PyYAML's ``SafeLoader`` reads it, plus three refusals that keep a config file
boring: no aliases (no "billion laughs"), no duplicate keys (PyYAML would silently keep
the last one), and only string keys. Mappings and sequences come back as ``dict`` and
``list`` subclasses that remember the line of each key and item (1-based).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from menshen.errors import ConfigError


class LineMapping(dict[str, Any]):
    """A YAML mapping that knows its own line and the line and column of each key."""

    line: int
    key_lines: dict[str, int]
    key_columns: dict[str, int]


class LineSequence(list[Any]):
    """A YAML sequence that knows its own line and the line and column of each item."""

    line: int
    item_lines: list[int]
    item_columns: list[int]


class LocatedError(ConfigError):
    """A ``ConfigError`` that also knows the column (1-based): ``file:line:column: message``."""

    def __init__(self, message: str, *, source: str, line: int, column: int) -> None:
        super().__init__(message, source=source, line=line)
        self.column = column
        self.args = (f"{source}:{line}:{column}: {message}",)


def located(message: str, source: str, line: int | None, column: int | None) -> ConfigError:
    """A ConfigError naming file, line and (when known) column."""
    if line is not None and column is not None:
        return LocatedError(message, source=source, line=line, column=column)
    return ConfigError(message, source=source, line=line)


class _LineLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses aliases and builds ``LineMapping``/``LineSequence``."""

    source = "<text>"

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ConfigError(
                "YAML aliases (*name) are not allowed in menshen files",
                source=self.source,
                line=event.start_mark.line + 1,
            )
        return super().compose_node(parent, index)


def _construct_mapping(loader: _LineLoader, node: MappingNode) -> LineMapping:
    loader.flatten_mapping(node)
    mapping = LineMapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    mapping.key_columns = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise ConfigError(
                f"mapping key {key!r} is not a string", source=loader.source, line=line
            )
        if key in mapping:
            first = mapping.key_lines[key]
            raise ConfigError(
                f"duplicate key {key!r} (first on line {first})", source=loader.source, line=line
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
        mapping.key_columns[key] = key_node.start_mark.column + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: SequenceNode) -> LineSequence:
    sequence = LineSequence()
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = []
    sequence.item_columns = []
    for item in node.value:
        sequence.append(loader.construct_object(item, deep=True))
        sequence.item_lines.append(item.start_mark.line + 1)
        sequence.item_columns.append(item.start_mark.column + 1)
    return sequence


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_documents(text: str, source: str) -> Iterator[tuple[int, Any]]:
    """Each non-empty document of ``text`` with its first line.

    Raises ``ConfigError`` naming ``source`` and the line for any YAML problem.
    """
    try:
        # The reader checks the whole text for characters YAML forbids when it is built.
        loader = _LineLoader(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", source=source) from None
    loader.source = source
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            document = loader.construct_document(node)
            if document is not None:
                yield node.start_mark.line + 1, document
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        column = None if mark is None else mark.column + 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise located(f"YAML syntax error: {problem}", source, line, column) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", source=source) from None
    except RecursionError:
        raise ConfigError("YAML nested too deeply", source=source) from None
    finally:
        loader.dispose()
