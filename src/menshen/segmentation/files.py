"""Model files: YAML with ``Inventory`` and ``Segmentation`` documents, and inventory CSVs.

``read_files`` reads any mix (a ``.csv`` is told apart by its header) into ``ModelParts``;
``build`` merges parts into a base model (what is stored), items of the files replacing
stored items of the same id or name, and checks the result as a whole. Two files defining
one id is an error, not a silent override. ``export_yaml`` writes the model back as one
deterministic file that reads back to an equal model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from menshen.inventory.catalog import Inventory, InventoryItems, merge_items
from menshen.inventory.csvio import parse_csv
from menshen.inventory.loader import (
    API_VERSION,
    Document,
    dump_documents,
    inventory_document,
    inventory_items,
    made,
    read_documents,
    read_text,
)
from menshen.inventory.problems import Origin, Problem, problem, raise_if_any
from menshen.segmentation.codec import (
    SegmentationSpecSchema,
    label_group_json,
    rule_set_json,
    rule_set_of,
    zone_json,
)
from menshen.segmentation.labels import LabelGroup
from menshen.segmentation.model import RuleSet, SegmentationPolicy, Zone
from menshen.segmentation.resolve import Segmentation

HEADER = "# menshen inventory and segmentation: import with `menshen inventory import <file>`\n"
EXAMPLE = "formosa-pay.yaml"


@dataclass(frozen=True, slots=True)
class ModelParts:
    """What some files define, before merging: inventory items and policy objects."""

    inventory: InventoryItems = field(default_factory=InventoryItems)
    label_groups: tuple[LabelGroup, ...] = ()
    zones: tuple[Zone, ...] = ()
    rule_sets: tuple[RuleSet, ...] = ()

    def __add__(self, other: ModelParts) -> ModelParts:
        return ModelParts(
            self.inventory + other.inventory,
            self.label_groups + other.label_groups,
            self.zones + other.zones,
            self.rule_sets + other.rule_sets,
        )

    @property
    def policy_objects(self) -> int:
        return len(self.label_groups) + len(self.zones) + len(self.rule_sets)


def policy_parts(document: Document) -> ModelParts:
    """The label groups, zones and rule sets of a ``Segmentation`` document."""
    spec = document.validate(SegmentationSpecSchema)
    problems: list[Problem] = []
    groups = []
    for index, group in enumerate(spec.labelGroups):
        origin = document.item_origin("labelGroups", index)
        groups.append(made(partial(group.to_model, origin), origin, problems))
    zones = []
    for index, zone in enumerate(spec.zones):
        origin = document.item_origin("zones", index)
        zones.append(made(partial(zone.to_model, origin), origin, problems))
    rule_sets = []
    for index, schema in enumerate(spec.ruleSets):

        def item_origin(kind: str, inner: int, outer: int = index) -> Origin | None:
            return document.item_origin("ruleSets", outer, kind, inner)

        origin = document.item_origin("ruleSets", index)
        rule_sets.append(made(partial(rule_set_of, schema, origin, item_origin), origin, problems))
    raise_if_any(problems)
    return ModelParts(
        label_groups=tuple(group for group in groups if group is not None),
        zones=tuple(zone for zone in zones if zone is not None),
        rule_sets=tuple(rule_set for rule_set in rule_sets if rule_set is not None),
    )


def parse_text(text: str, source: str) -> ModelParts:
    """The parts of one file's text: CSV when ``source`` ends in ``.csv``, else YAML."""
    if source.lower().endswith(".csv"):
        return ModelParts(inventory=parse_csv(text, source))
    parts = ModelParts()
    for document in read_documents(text, source):
        if document.kind == "Inventory":
            parts += ModelParts(inventory=inventory_items(document))
        else:
            parts += policy_parts(document)
    return parts


def read_files(paths: Iterable[Path]) -> ModelParts:
    """The parts of every file, in order; the first bad file raises."""
    parts = ModelParts()
    for path in paths:
        parts += parse_text(read_text(path), str(path))
    return parts


def merge_policy(base: SegmentationPolicy, parts: ModelParts) -> SegmentationPolicy:
    """``base`` with the policy objects of ``parts`` added or replacing by name."""
    problems: list[Problem] = []
    for items, what in (
        (parts.label_groups, "label group"),
        (parts.zones, "zone"),
        (parts.rule_sets, "rule set"),
    ):
        seen: dict[str, Any] = {}
        for item in items:
            first = seen.get(item.name)
            if first is not None:
                where = "" if first.origin is None else f" (first at {first.origin})"
                problems.append(problem(f"duplicate {what} {item.name!r}{where}", item.origin))
            seen[item.name] = item
    raise_if_any(problems)
    groups = {group.name: group for group in base.label_groups}
    groups.update((group.name, group) for group in parts.label_groups)
    zones = {zone.name: zone for zone in base.zones}
    zones.update((zone.name, zone) for zone in parts.zones)
    rule_sets = {rule_set.name: rule_set for rule_set in base.rule_sets}
    rule_sets.update((rule_set.name, rule_set) for rule_set in parts.rule_sets)
    return SegmentationPolicy(
        tuple(groups.values()), tuple(zones.values()), tuple(rule_sets.values())
    )


def build(
    parts: ModelParts,
    inventory: Inventory | None = None,
    policy: SegmentationPolicy | None = None,
) -> Segmentation:
    """The resolved model of ``parts`` merged into a base; ``InvalidModel`` if it is not one."""
    merged_inventory = merge_items(inventory or Inventory(), parts.inventory)
    merged_policy = merge_policy(policy or SegmentationPolicy(), parts)
    return Segmentation(merged_inventory, merged_policy)


def load_files(paths: Sequence[Path]) -> Segmentation:
    """The model that ``paths`` define on their own."""
    return build(read_files(paths))


def segmentation_document(policy: SegmentationPolicy, name: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Segmentation",
        "metadata": {"name": name},
        "spec": {
            "labelGroups": [label_group_json(group) for group in policy.label_groups],
            "zones": [zone_json(zone) for zone in policy.zones],
            "ruleSets": [rule_set_json(rule_set) for rule_set in policy.rule_sets],
        },
    }


def export_yaml(inventory: Inventory, policy: SegmentationPolicy, name: str) -> str:
    """The whole model as one YAML file (Inventory, then Segmentation)."""
    documents = [inventory_document(inventory, name), segmentation_document(policy, name)]
    return dump_documents(documents, HEADER)


def example_text(name: str = EXAMPLE) -> str:
    """A sample model shipped with menshen (the reference firm, Formosa Pay)."""
    folder = resources.files("menshen.segmentation").joinpath("examples")
    return folder.joinpath(name).read_text("utf-8")


def load_example(name: str = EXAMPLE) -> Segmentation:
    return build(parse_text(example_text(name), f"<example {name}>"))
