"""Large model files read by libyaml, with the same lines, columns and errors as before.

``menshen.manifest.yamltext`` reads YAML with PyYAML's pure-Python parser (about 5 ms per
kilobyte), which a firm's 100 KB policy file feels. When PyYAML was built with libyaml,
``fast_documents`` lets the C parser compose the node tree (each node carries its line and
column) and builds the same ``LineMapping``/``LineSequence`` values from it, scalars by the
same safe constructor and resolver (YAML 1.1 as ``SafeLoader`` reads it).

It only ever takes the happy path. Anything unusual — a syntax error, an alias (a node met
twice), a duplicate or non-string key, a merge key, a tag that is not a plain map, sequence
or scalar, nesting too deep — and the text is read again by ``yamltext.load_documents``,
which either raises its precise ``file:line:column`` error or, had libyaml been the stricter
of the two, returns the documents itself. Errors therefore read exactly as they always did.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from menshen.inventory.bulk import paused_gc
from menshen.manifest.yamltext import LineMapping, LineSequence, load_documents

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_CLoader: type[Any] | None = getattr(yaml, "CSafeLoader", None)
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE
"""What PyYAML's reader refuses before parsing; such a text goes to the careful reader."""
MIN_CHARS = 16 * 1024
"""Below this, the pure-Python reader is quick enough and libyaml is not worth the detour."""


class _Unusual(Exception):
    """The text needs the careful reader."""


def fast_documents(text: str, source: str) -> list[tuple[int, Any]]:
    """Each non-empty document of ``text`` with its first line, as ``load_documents`` gives."""
    if _CLoader is None or len(text) < MIN_CHARS or _NON_PRINTABLE.search(text):
        return list(load_documents(text, source))
    try:
        with paused_gc():
            return _compose_all(text, _CLoader)
    except (_Unusual, yaml.YAMLError, RecursionError, ValueError, TypeError):
        return list(load_documents(text, source))


def _compose_all(text: str, loader_class: type[Any]) -> list[tuple[int, Any]]:
    loader = loader_class(text)
    found: list[tuple[int, Any]] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            document = _Builder(loader).build(node)
            if document is not None:
                found.append((node.start_mark.line + 1, document))
    finally:
        loader.dispose()
    return found


class _Builder:
    """Values from one document's nodes; refuses (``_Unusual``) whatever it does not expect."""

    __slots__ = ("_loader", "_seen")

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self._seen: set[int] = set()

    def build(self, node: Node) -> Any:
        if id(node) in self._seen:  # libyaml resolved an alias: the careful reader refuses it
            raise _Unusual
        self._seen.add(id(node))
        if isinstance(node, ScalarNode):
            return self._loader.construct_object(node, deep=True)
        if isinstance(node, SequenceNode) and node.tag == _SEQ:
            sequence = LineSequence()
            sequence.line = node.start_mark.line + 1
            sequence.item_lines = []
            sequence.item_columns = []
            for item in node.value:
                sequence.append(self.build(item))
                sequence.item_lines.append(item.start_mark.line + 1)
                sequence.item_columns.append(item.start_mark.column + 1)
            return sequence
        if isinstance(node, MappingNode) and node.tag == _MAP:
            return self._mapping(node)
        raise _Unusual

    def _mapping(self, node: MappingNode) -> LineMapping:
        mapping = LineMapping()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        mapping.key_columns = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != _STR:
                raise _Unusual  # merge keys, non-string keys
            key = self.build(key_node)
            if not isinstance(key, str) or key in mapping:
                raise _Unusual
            mapping[key] = self.build(value_node)
            mapping.key_lines[key] = key_node.start_mark.line + 1
            mapping.key_columns[key] = key_node.start_mark.column + 1
        return mapping
