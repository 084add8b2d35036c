"""Asset inventory and data map: what a firm has, what data sits where, what flows where.

The model (``model``, ``catalog``) is pure and frozen; ``codec`` is its written form,
``csvio`` reads and writes spreadsheets, ``loader`` is the YAML and file edge. Persistence
lives in ``menshen.segmentation.repository`` (next to the policy that is stored with it).
See docs/segmentation.md.
"""

from menshen.inventory.catalog import Inventory, InventoryItems, merge_items
from menshen.inventory.model import (
    Asset,
    AssetKind,
    Classification,
    DataFlow,
    DataStore,
    Endpoint,
    Labels,
    ObservedFlow,
    PortRange,
)
from menshen.inventory.problems import InvalidModel, Origin, Problem

__all__ = [
    "Asset",
    "AssetKind",
    "Classification",
    "DataFlow",
    "DataStore",
    "Endpoint",
    "InvalidModel",
    "Inventory",
    "InventoryItems",
    "Labels",
    "ObservedFlow",
    "Origin",
    "PortRange",
    "Problem",
    "merge_items",
]
