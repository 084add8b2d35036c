"""The stored model on SQLite and PostgreSQL: all or nothing, idempotent, exact."""

from __future__ import annotations

from dataclasses import replace

import pytest

from menshen.errors import ConfigError
from menshen.inventory import InventoryItems
from menshen.segmentation import repository
from menshen.segmentation.files import ModelParts, build, load_example
from menshen.segmentation.repository import Change
from menshen.store.api import TenantStore
from menshen.store.records import ConfigObjectRecord
from menshen.testing import FixedClock


def test_save_then_load_gives_the_same_model(tenant_store: TenantStore) -> None:
    """Each item is a row; loading them back gives an equal inventory and policy."""
    seg = load_example()
    report = repository.save(tenant_store, seg, clock=FixedClock())
    assert report.count(Change.CREATED) == len(repository.rows_of(seg.inventory, seg.policy))
    inventory, policy = repository.load(tenant_store)
    assert inventory == seg.inventory
    assert policy == seg.policy
    assert [r.name for r in tenant_store.config.list("Zone")][:2] == [
        "card-processor",
        "contractor-gateway",
    ]


def test_saving_again_changes_nothing(tenant_store: TenantStore) -> None:
    """A second save of the same model reports every item unchanged."""
    seg = load_example()
    repository.save(tenant_store, seg, clock=FixedClock())
    again = repository.save(tenant_store, seg, clock=FixedClock())
    assert not again.changed


def test_dry_run_writes_nothing(tenant_store: TenantStore) -> None:
    """--dry-run reports what it would create and leaves the store empty."""
    report = repository.save(tenant_store, load_example(), clock=FixedClock(), dry_run=True)
    assert report.count(Change.CREATED) > 0
    assert tenant_store.config.list("Asset") == []


def test_merge_updates_one_item_and_prune_deletes_the_rest(tenant_store: TenantStore) -> None:
    """Files merge into the stored model by id; with prune, absent items are deleted."""
    seg = load_example()
    repository.save(tenant_store, seg, clock=FixedClock())
    wiki = seg.inventory.asset("wiki")
    assert wiki is not None
    parts = ModelParts(inventory=InventoryItems(assets=(replace(wiki, name="Wiki (new)"),)))
    inventory, policy = repository.load(tenant_store)
    merged = build(parts, inventory, policy)
    report = repository.save(tenant_store, merged, clock=FixedClock())
    assert [(i.ref, i.change) for i in report.items if i.change is not Change.UNCHANGED] == [
        ("Asset/wiki", Change.UPDATED)
    ]
    only = build(parts)
    pruned = repository.save(tenant_store, only, clock=FixedClock(), prune=True)
    assert pruned.count(Change.DELETED) == len(repository.rows_of(seg.inventory, seg.policy)) - 1
    assert [r.name for r in tenant_store.config.list("Asset")] == ["wiki"]


def test_a_corrupt_row_is_a_config_error(tenant_store: TenantStore) -> None:
    """A stored row that no longer validates is reported, not half-loaded."""
    tenant_store.config.put(
        ConfigObjectRecord(
            tenant_id=tenant_store.tenant_id,
            kind="Asset",
            name="x",
            spec={"id": "x", "kind": "router"},
            updated_at=FixedClock().now(),
        )
    )
    with pytest.raises(ConfigError, match="stored model is invalid"):
        repository.load(tenant_store)
