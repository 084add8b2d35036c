"""The stored model: each asset, data store, flow, label group, zone and rule set as one row.

Decision (issue 5): the model is *not* a set of ``menshen apply`` manifest kinds. It is
stored in the same config objects table (``ConfigRepository``: kind, name, JSON spec), one
row per item under kinds ``Asset``, ``DataStore``, ``DataFlow``, ``LabelGroup``, ``Zone`` and
``RuleSet``, each spec the item's canonical written form (``codec``). Why not manifest kinds:
``menshen apply`` records the whole exported config as a policy version on every change and
parses files capped at 1 MiB; a firm's inventory is thousands of rows, imported from CSV as
often as YAML, and must be checked as a whole (overlapping addresses, references across
items) — a different life cycle from access policy. Keeping the rows per item still lets the
console edit one asset, and ``menshen inventory export`` round-trips the lot.

``save`` is like ``apply``: the caller passes the complete, already checked model; rows are
compared with what is stored and only changes are written, in one transaction, so a failure
leaves nothing half-imported. With ``prune`` rows absent from the model are deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from menshen.clock import Clock
from menshen.errors import ConfigError
from menshen.inventory.catalog import Inventory
from menshen.inventory.codec import (
    AssetSchema,
    DataStoreSchema,
    FlowSchema,
    asset_json,
    data_store_json,
    flow_json,
)
from menshen.inventory.problems import InvalidModel, Origin
from menshen.segmentation.codec import (
    LabelGroupSchema,
    RuleSetSchema,
    ZoneSchema,
    label_group_json,
    rule_set_json,
    rule_set_of,
    zone_json,
)
from menshen.segmentation.model import SegmentationPolicy
from menshen.segmentation.resolve import Segmentation
from menshen.store.api import TenantStore
from menshen.store.records import ConfigObjectRecord

S = TypeVar("S", bound=BaseModel)
KINDS = ("Asset", "DataStore", "DataFlow", "LabelGroup", "Zone", "RuleSet")
"""The stored kinds, in write order (deletes go in reverse)."""


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class SavedItem:
    kind: str
    name: str
    change: Change

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class SaveReport:
    """What ``save`` did (or would do, with ``dry_run``) to each stored item."""

    items: tuple[SavedItem, ...]
    dry_run: bool

    def count(self, change: Change) -> int:
        return sum(1 for item in self.items if item.change is change)

    @property
    def changed(self) -> bool:
        return any(item.change is not Change.UNCHANGED for item in self.items)

    def summary(self) -> str:
        return ", ".join(f"{self.count(change)} {change.value}" for change in Change)


def rows_of(inventory: Inventory, policy: SegmentationPolicy) -> dict[tuple[str, str], Any]:
    """The stored form of a model: (kind, name) → JSON spec."""
    rows: dict[tuple[str, str], Any] = {}
    for asset in inventory.assets:
        rows["Asset", asset.id] = asset_json(asset)
    for store in inventory.data_stores:
        rows["DataStore", store.id] = data_store_json(store)
    for flow in inventory.flows:
        rows["DataFlow", flow.id] = flow_json(flow)
    for group in policy.label_groups:
        rows["LabelGroup", group.name] = label_group_json(group)
    for zone in policy.zones:
        rows["Zone", zone.name] = zone_json(zone)
    for rule_set in policy.rule_sets:
        rows["RuleSet", rule_set.name] = rule_set_json(rule_set)
    return rows


def load(tenant_store: TenantStore) -> tuple[Inventory, SegmentationPolicy]:
    """The stored model; ``ConfigError`` if a row no longer makes a valid model."""
    records = {kind: tenant_store.config.list(kind) for kind in KINDS}
    try:
        assets = [_decode(r, AssetSchema).to_model(_origin(r)) for r in records["Asset"]]
        stores = []
        for record in records["DataStore"]:
            store = _decode(record, DataStoreSchema)
            stores.append(store.to_model(store.asset or "", _origin(record)))
        flows = [_decode(r, FlowSchema).to_model(_origin(r)) for r in records["DataFlow"]]
        groups = [_decode(r, LabelGroupSchema).to_model(_origin(r)) for r in records["LabelGroup"]]
        zones = [_decode(r, ZoneSchema).to_model(_origin(r)) for r in records["Zone"]]
        rule_sets = [
            rule_set_of(_decode(r, RuleSetSchema), _origin(r), _inner(r))
            for r in records["RuleSet"]
        ]
        inventory = Inventory(tuple(assets), tuple(stores), tuple(flows))
        policy = SegmentationPolicy(tuple(groups), tuple(zones), tuple(rule_sets))
    except (ValueError, InvalidModel) as exc:
        raise ConfigError(f"the stored model is invalid: {exc}", source="<store>") from None
    return inventory, policy


def load_segmentation(tenant_store: TenantStore) -> Segmentation:
    """The stored model, resolved."""
    inventory, policy = load(tenant_store)
    return Segmentation(inventory, policy)


def save(
    tenant_store: TenantStore,
    model: Segmentation,
    *,
    clock: Clock,
    dry_run: bool = False,
    prune: bool = False,
) -> SaveReport:
    """Store ``model`` (already resolved, hence valid): write only what changed."""
    wanted = rows_of(model.inventory, model.policy)
    stored = {
        (record.kind, record.name): record.spec
        for kind in KINDS
        for record in tenant_store.config.list(kind)
    }
    items: list[SavedItem] = []
    writes: list[Callable[[], None]] = []
    now = clock.now()
    for (kind, name), spec in sorted(wanted.items(), key=lambda item: _order(item[0])):
        current = stored.get((kind, name))
        if current == spec:
            items.append(SavedItem(kind, name, Change.UNCHANGED))
            continue
        items.append(SavedItem(kind, name, Change.CREATED if current is None else Change.UPDATED))
        record = ConfigObjectRecord(
            tenant_id=tenant_store.tenant_id, kind=kind, name=name, spec=spec, updated_at=now
        )
        writes.append(partial(tenant_store.config.put, record))
    if prune:
        for kind, name in sorted(set(stored) - set(wanted), key=_order, reverse=True):
            items.append(SavedItem(kind, name, Change.DELETED))
            writes.append(partial(tenant_store.config.delete, kind, name))
    if writes and not dry_run:
        with tenant_store.transaction():
            for write in writes:
                write()
    return SaveReport(tuple(items), dry_run)


def _order(key: tuple[str, str]) -> tuple[int, str]:
    return KINDS.index(key[0]), key[1]


def _decode(record: ConfigObjectRecord, schema: type[S]) -> S:
    try:
        return schema.model_validate(record.spec)
    except ValidationError as exc:
        raise ValueError(f"{record.kind}/{record.name}: {exc.errors()[0]['msg']}") from None


def _origin(record: ConfigObjectRecord) -> Origin:
    return Origin(f"<store {record.kind}/{record.name}>")


def _inner(record: ConfigObjectRecord) -> Callable[[str, int], Origin | None]:
    def origin(kind: str, index: int) -> Origin | None:
        return Origin(f"<store {record.kind}/{record.name} {kind}[{index}]>")

    return origin
