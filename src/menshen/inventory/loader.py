"""YAML documents in and out: the envelope, ``Inventory`` specs, and the file edge.

A model file holds documents in the Kubernetes style every menshen file uses::

    apiVersion: menshen.dev/v1
    kind: Inventory            # or Segmentation (read by menshen.segmentation.files)
    metadata: {name: formosa-pay}
    spec: {assets: [...], dataStores: [...], flows: [...]}

The YAML is read by ``menshen.manifest.yamltext`` (safe loader, no aliases, no duplicate
keys, a line and column for every key), so a problem anywhere names ``file:line:column``;
large files by libyaml through ``menshen.inventory.yamlfast``, to the same values.
Schema problems are all collected before anything is returned. This is the only module of
``menshen.inventory`` that touches files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from menshen.errors import ConfigError
from menshen.inventory.catalog import Inventory, InventoryItems
from menshen.inventory.codec import (
    InventorySpecSchema,
    Loc,
    asset_json,
    flow_json,
    schema_problems,
)
from menshen.inventory.model import Asset, DataFlow, DataStore
from menshen.inventory.problems import InvalidModel, Origin, Problem, raise_if_any
from menshen.inventory.yamlfast import fast_documents
from menshen.manifest.yamltext import LineMapping, LineSequence, located

API_VERSION = "menshen.dev/v1"
KINDS = ("Inventory", "Segmentation")
MAX_BYTES = 64 * 1024 * 1024
"""Largest file read: generous for a firm of thousands of assets, bounded against accidents."""
_ENVELOPE = ("apiVersion", "kind", "metadata", "spec")
S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a model file: its kind, name, and the located YAML it came from."""

    kind: str
    name: str
    source: str
    line: int
    document: LineMapping

    @property
    def spec(self) -> LineMapping:
        body = self.document.get("spec")
        if isinstance(body, LineMapping):
            return body
        empty = LineMapping()
        empty.line = self.document.key_lines.get("spec", self.line)
        empty.key_lines, empty.key_columns = {}, {}
        return empty

    def locate(self, loc: Loc) -> Origin:
        """The place of the node ``spec.<loc>`` (the deepest existing part of it)."""
        node: Any = self.document.get("spec")
        line = self.document.key_lines.get("spec", self.line)
        column = self.document.key_columns.get("spec", 1)
        for part in loc:
            if isinstance(node, LineMapping) and isinstance(part, str) and part in node:
                line, column, node = node.key_lines[part], node.key_columns[part], node[part]
            elif isinstance(node, LineSequence) and isinstance(part, int) and part < len(node):
                line, column, node = node.item_lines[part], node.item_columns[part], node[part]
            else:
                break
        return Origin(self.source, line, column)

    def item_origin(self, *loc: str | int) -> Origin:
        """The origin of a list item at ``spec.<loc>``, with the place of each of its keys."""
        where = self.locate(loc)
        node: Any = self.document.get("spec")
        for part in loc:
            node = node[part]
        keys: tuple[tuple[str, int, int | None], ...] = ()
        if isinstance(node, LineMapping):
            keys = tuple((key, node.key_lines[key], node.key_columns[key]) for key in node)
        return Origin(where.source, where.line, where.column, keys)

    def validate(self, schema: type[S]) -> S:
        """The spec validated by ``schema``; ``InvalidModel`` listing every problem if not."""
        try:
            return schema.model_validate(self.spec)
        except ValidationError as exc:
            found = [
                Problem(f"{self.kind} spec.{_dotted(p.loc)}: {p.message}", self.locate(p.loc))
                for p in schema_problems(exc)
            ]
            raise InvalidModel(found) from None


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def read_documents(text: str, source: str, kinds: Sequence[str] = KINDS) -> list[Document]:
    """Every document of ``text``; ``ConfigError`` at the first bad envelope."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"file is larger than {MAX_BYTES // 2**20} MiB", source=source)
    try:
        bodies = fast_documents(text, source)
    except yaml.YAMLError as exc:  # the reader refuses some characters before parsing starts
        raise ConfigError(f"YAML error: {exc}", source=source) from None
    return [_document(body, line, source, kinds) for line, body in bodies]


def _document(body: Any, line: int, source: str, kinds: Sequence[str]) -> Document:
    if not isinstance(body, LineMapping):
        raise ConfigError(
            "a document must be a mapping with apiVersion, kind, metadata and spec",
            source=source,
            line=line,
        )
    for key in body:
        if key not in _ENVELOPE:
            where = (body.key_lines[key], body.key_columns[key])
            raise located(
                f"unknown field {key!r} (expected {', '.join(_ENVELOPE)})", source, *where
            )
    for key in ("apiVersion", "kind", "spec"):
        if key not in body:
            raise ConfigError(f"missing {key!r}", source=source, line=line)
    if body["apiVersion"] != API_VERSION:
        raise located(
            f"apiVersion must be {API_VERSION!r}",
            source,
            body.key_lines["apiVersion"],
            body.key_columns["apiVersion"],
        )
    kind = body["kind"]
    if kind not in kinds:
        raise located(
            f"unknown kind {kind!r} (expected {' or '.join(kinds)})",
            source,
            body.key_lines["kind"],
            body.key_columns["kind"],
        )
    name = ""
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, LineMapping) or set(metadata) - {"name"}:
            raise located(
                "metadata must be a mapping with one field: name",
                source,
                body.key_lines["metadata"],
                body.key_columns["metadata"],
            )
        name = str(metadata.get("name", ""))
    if body["spec"] is not None and not isinstance(body["spec"], LineMapping):
        raise located(
            "spec must be a mapping", source, body.key_lines["spec"], body.key_columns["spec"]
        )
    return Document(str(kind), name, source, line, body)


def made(factory: Callable[[], T], origin: Origin, problems: list[Problem]) -> T | None:
    """``factory()``, or None with its ``ValueError`` recorded as a problem at ``origin``.

    The schemas check what the model checks; this is the net under any gap between them.
    """
    try:
        return factory()
    except ValueError as exc:
        problems.append(Problem(str(exc), origin))
        return None


def inventory_items(document: Document) -> InventoryItems:
    """The assets, data stores and flows of an ``Inventory`` document."""
    spec = document.validate(InventorySpecSchema)
    problems: list[Problem] = []
    assets: list[Asset | None] = []
    stores: list[DataStore | None] = []
    for index, asset in enumerate(spec.assets):
        origin = document.item_origin("assets", index)
        assets.append(made(partial(asset.to_model, origin), origin, problems))
        for inner, store in enumerate(asset.dataStores):
            origin = document.item_origin("assets", index, "dataStores", inner)
            stores.append(made(partial(store.to_model, asset.id, origin), origin, problems))
    for index, store in enumerate(spec.dataStores):
        origin = document.item_origin("dataStores", index)
        stores.append(made(partial(store.to_model, store.asset or "", origin), origin, problems))
    flows: list[DataFlow | None] = []
    for index, flow in enumerate(spec.flows):
        origin = document.item_origin("flows", index)
        flows.append(made(partial(flow.to_model, origin), origin, problems))
    raise_if_any(problems)
    return InventoryItems(
        tuple(a for a in assets if a is not None),
        tuple(s for s in stores if s is not None),
        tuple(f for f in flows if f is not None),
    )


def load_inventory(text: str, source: str) -> Inventory:
    """The inventory of one YAML text (its ``Inventory`` documents), checked whole."""
    items = InventoryItems()
    for document in read_documents(text, source, ("Inventory",)):
        items += inventory_items(document)
    return Inventory(items.assets, items.data_stores, items.flows)


def inventory_document(inventory: Inventory, name: str) -> dict[str, Any]:
    """An ``Inventory`` document (data stores nested in their assets)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Inventory",
        "metadata": {"name": name},
        "spec": {
            "assets": [asset_json(a, inventory.stores_on(a.id)) for a in inventory.assets],
            "flows": [flow_json(flow) for flow in inventory.flows],
        },
    }


def dump_documents(documents: Iterable[dict[str, Any]], header: str = "") -> str:
    """Documents as deterministic YAML (keys in written order, no aliases)."""
    body = yaml.dump_all(
        list(documents),
        Dumper=_Dumper,
        sort_keys=False,
        explicit_start=True,
        allow_unicode=True,
        width=100,
    )
    return header + body


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def read_text(path: Path, *, limit: int = MAX_BYTES) -> str:
    """A UTF-8 file's text; ``ConfigError`` naming the file if it cannot be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    if len(data) > limit:
        raise ConfigError(f"file is larger than {limit // 2**20} MiB", source=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", source=str(path)) from None
