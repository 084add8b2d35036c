"""The written form of the segmentation policy (YAML ``spec`` and stored JSON) and its schema.

``Segmentation`` documents::

    spec:
      labelGroups: [{name, key, values, include}]
      zones:       [{name, description, select: {labels: {role: db}, groups: [..]}, cidrs}]
      ruleSets:
        - name: settlement
          mode: enforce              # or monitor (then scope is required)
          scope: [settlement-db]     # zones whose unmatched traffic this set drops or logs
          rules:      [{id, from: [zone | {labels, groups}], to: [...], ports: [tcp/5432]}]
          exceptions: [{id, from, to, ports, owner, expires: 2026-06-30, reason}]

An expiry written as a date means the start of that day in UTC; a time must carry its zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from menshen.inventory.codec import Id, LabelKey, LabelValue, PortText, Text
from menshen.inventory.fields import check_rule_id, parse_network
from menshen.inventory.model import PortRange
from menshen.inventory.problems import Origin
from menshen.segmentation.labels import LabelGroup, Selector
from menshen.segmentation.model import FlowException, Mode, Peer, Rule, RuleSet, Zone


def parse_expiry(value: Any) -> datetime:
    """A date (start of day, UTC) or an aware datetime, from YAML or JSON text."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expires {text!r} is not a date (2026-06-30) or time") from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("expires needs a time zone (e.g. 2026-06-30T18:00:00+08:00)")
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=UTC)
    raise ValueError("expires must be a date (2026-06-30) or a time with its zone")


def format_expiry(value: datetime) -> str:
    """A date when ``value`` is the start of a day in UTC, else an ISO 8601 time with zone."""
    if value.utcoffset() == timedelta(0) and value.time() == time(0, 0):
        return value.date().isoformat()
    return value.isoformat()


def _check_mode(value: str) -> str:
    if value not in ("monitor", "enforce"):
        raise ValueError(f"unknown mode {value!r} (expected monitor or enforce)")
    return value


def _check_cidr(value: str) -> str:
    parse_network(value)
    return value


RuleId = Annotated[str, AfterValidator(check_rule_id)]
Cidr = Annotated[str, AfterValidator(_check_cidr)]
ModeText = Annotated[str, AfterValidator(_check_mode)]
Expiry = Annotated[datetime, BeforeValidator(parse_expiry)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


class SelectorSchema(Schema):
    labels: dict[LabelKey, LabelValue | Annotated[list[LabelValue], Field(min_length=1)]] = {}
    groups: list[Id] = []

    @model_validator(mode="after")
    def _not_empty(self) -> SelectorSchema:
        if not self.labels and not self.groups:
            raise ValueError("a selector needs at least one label or label group")
        return self

    def to_model(self) -> Selector:
        terms = tuple(
            (key, (value,) if isinstance(value, str) else tuple(value))
            for key, value in self.labels.items()
        )
        return Selector(terms, tuple(self.groups))


PeerSchema = Id | SelectorSchema
Peers = Annotated[list[PeerSchema], Field(min_length=1)] | PeerSchema


def _peers(value: list[PeerSchema] | PeerSchema) -> tuple[Peer, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(item if isinstance(item, str) else item.to_model() for item in items)


class LabelGroupSchema(Schema):
    name: Id
    key: LabelKey
    values: list[LabelValue] = []
    include: list[Id] = []
    description: Text = ""

    @model_validator(mode="after")
    def _not_empty(self) -> LabelGroupSchema:
        if not self.values and not self.include:
            raise ValueError("a label group needs values, included groups, or both")
        return self

    def to_model(self, origin: Origin | None) -> LabelGroup:
        return LabelGroup(
            self.name, self.key, tuple(self.values), tuple(self.include), self.description, origin
        )


class ZoneSchema(Schema):
    name: Id
    description: Text = ""
    select: SelectorSchema | None = None
    cidrs: list[Cidr] = []

    @model_validator(mode="after")
    def _members(self) -> ZoneSchema:
        if self.select is None and not self.cidrs:
            raise ValueError(f"zone {self.name!r} needs select, cidrs, or both")
        return self

    def to_model(self, origin: Origin | None) -> Zone:
        return Zone(
            self.name,
            None if self.select is None else self.select.to_model(),
            tuple(parse_network(cidr) for cidr in self.cidrs),
            self.description,
            origin,
        )


class RuleSchema(Schema):
    id: RuleId
    sources: Peers = Field(alias="from")
    destinations: Peers = Field(alias="to")
    ports: Annotated[list[PortText], Field(min_length=1)]
    description: Text = ""
    owner: Text = ""

    def to_model(self, origin: Origin | None) -> Rule:
        return Rule(
            self.id,
            _peers(self.sources),
            _peers(self.destinations),
            tuple(PortRange.parse(port) for port in self.ports),
            self.description,
            self.owner,
            origin,
        )


class ExceptionSchema(Schema):
    id: RuleId
    sources: Peers = Field(alias="from")
    destinations: Peers = Field(alias="to")
    ports: Annotated[list[PortText], Field(min_length=1)]
    owner: Annotated[Text, Field(min_length=1, pattern=r"\S")]
    expires: Expiry
    reason: Text = ""

    def to_model(self, origin: Origin | None) -> FlowException:
        return FlowException(
            self.id,
            _peers(self.sources),
            _peers(self.destinations),
            tuple(PortRange.parse(port) for port in self.ports),
            self.owner,
            self.expires,
            self.reason,
            origin,
        )


class RuleSetSchema(Schema):
    name: Id
    mode: ModeText = "enforce"
    scope: list[Id] = []
    description: Text = ""
    rules: list[RuleSchema] = []
    exceptions: list[ExceptionSchema] = []


class SegmentationSpecSchema(Schema):
    """The ``spec`` of a ``Segmentation`` document."""

    labelGroups: list[LabelGroupSchema] = []
    zones: list[ZoneSchema] = []
    ruleSets: list[RuleSetSchema] = []


# -- writing back ---------------------------------------------------------------------------
def _compact(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value not in (None, "", [], {})}


def selector_json(selector: Selector) -> dict[str, Any]:
    labels = {
        key: values[0] if len(values) == 1 else list(values) for key, values in selector.labels
    }
    return _compact({"labels": labels, "groups": list(selector.groups)})


def _peers_json(peers: tuple[Peer, ...]) -> list[Any]:
    return [peer if isinstance(peer, str) else selector_json(peer) for peer in peers]


def label_group_json(group: LabelGroup) -> dict[str, Any]:
    return {"name": group.name, "key": group.key} | _compact(
        {
            "values": list(group.values),
            "include": list(group.include),
            "description": group.description,
        }
    )


def zone_json(zone: Zone) -> dict[str, Any]:
    return {"name": zone.name} | _compact(
        {
            "description": zone.description,
            "select": None if zone.selector is None else selector_json(zone.selector),
            "cidrs": [str(net) for net in zone.cidrs],
        }
    )


def rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "from": _peers_json(rule.sources),
        "to": _peers_json(rule.destinations),
        "ports": [str(port) for port in rule.ports],
    } | _compact({"description": rule.description, "owner": rule.owner})


def exception_json(item: FlowException) -> dict[str, Any]:
    return {
        "id": item.id,
        "from": _peers_json(item.sources),
        "to": _peers_json(item.destinations),
        "ports": [str(port) for port in item.ports],
        "owner": item.owner,
        "expires": format_expiry(item.expires),
    } | _compact({"reason": item.reason})


def rule_set_json(rule_set: RuleSet) -> dict[str, Any]:
    return {"name": rule_set.name, "mode": rule_set.mode.value} | _compact(
        {
            "scope": list(rule_set.scope),
            "description": rule_set.description,
            "rules": [rule_json(rule) for rule in rule_set.rules],
            "exceptions": [exception_json(item) for item in rule_set.exceptions],
        }
    )


def rule_set_of(
    schema: RuleSetSchema,
    origin: Origin | None,
    item_origin: Callable[[str, int], Origin | None],
) -> RuleSet:
    """A rule set; ``item_origin(kind, index)`` gives the origin of each rule/exception."""
    return RuleSet(
        schema.name,
        Mode(schema.mode),
        tuple(schema.scope),
        tuple(rule.to_model(item_origin("rules", i)) for i, rule in enumerate(schema.rules)),
        tuple(
            item.to_model(item_origin("exceptions", i)) for i, item in enumerate(schema.exceptions)
        ),
        schema.description,
        origin,
    )
