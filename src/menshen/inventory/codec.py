"""The written form of inventory items (YAML ``spec`` lists and stored JSON) and its schema.

One pydantic schema per item, strict and closed (unknown keys refused), used for files and
for rows read back from the store; ``*_json`` write the same canonical shape back, leaving
out empty values, so ``decode(encode(x)) == x``. Keys are camelCase as in every menshen file.
Problems come back as ``Problem`` values with the path inside the item (``loc``); the loader
turns that path into a line and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from menshen.inventory.fields import (
    Network,
    check_id,
    check_label_key,
    check_label_value,
    check_tag,
    check_text,
    format_network,
    parse_address,
)
from menshen.inventory.model import (
    Asset,
    AssetKind,
    Classification,
    DataFlow,
    DataStore,
    Labels,
    PortRange,
)
from menshen.inventory.problems import Origin

Loc = tuple[str | int, ...]


def _check_address(value: str) -> str:
    parse_address(value)
    return value


def _check_port(value: str) -> str:
    PortRange.parse(value)
    return value


def _check_classification(value: str) -> str:
    return Classification.parse(value).value


def _check_kind(value: str) -> str:
    return AssetKind.parse(value).value


Id = Annotated[str, AfterValidator(check_id)]
Text = Annotated[str, AfterValidator(check_text)]
LabelKey = Annotated[str, AfterValidator(check_label_key)]
LabelValue = Annotated[str, AfterValidator(check_label_value)]
Tag = Annotated[str, AfterValidator(check_tag)]
AddressText = Annotated[str, AfterValidator(_check_address)]
PortText = Annotated[str, AfterValidator(_check_port)]
ClassificationText = Annotated[str, AfterValidator(_check_classification)]
KindText = Annotated[str, AfterValidator(_check_kind)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


class DataStoreSchema(Schema):
    id: Id
    asset: Id | None = None
    name: Text = ""
    classification: ClassificationText
    tags: list[Tag] = []
    records: Annotated[int, Field(ge=0)] | None = None

    def to_model(self, asset: str, origin: Origin | None) -> DataStore:
        return DataStore(
            id=self.id,
            asset=asset,
            classification=Classification.parse(self.classification),
            name=self.name,
            tags=tuple(self.tags),
            records=self.records,
            origin=origin,
        )


class AssetSchema(Schema):
    id: Id
    kind: KindText
    name: Text = ""
    owner: Text = ""
    environment: LabelValue | None = None
    labels: dict[LabelKey, LabelValue] = {}
    addresses: list[AddressText] = []
    ports: list[PortText] = []
    gatewayApps: list[Id] = []
    dataStores: list[DataStoreSchema] = []

    @model_validator(mode="after")
    def _one_environment(self) -> AssetSchema:
        env = self.labels.get("env")
        if self.environment is not None and env is not None and env != self.environment:
            raise ValueError(f"environment {self.environment!r} and label env {env!r} disagree")
        for store in self.dataStores:
            if store.asset is not None and store.asset != self.id:
                raise ValueError(f"data store {store.id!r} names asset {store.asset!r}")
        return self

    def to_model(self, origin: Origin | None) -> Asset:
        labels = dict(self.labels)
        if self.environment is not None:
            labels["env"] = self.environment
        networks: list[Network] = []
        names: list[str] = []
        for text in self.addresses:
            address = parse_address(text)
            if isinstance(address, str):
                names.append(address)
            else:
                networks.append(address)
        return Asset(
            id=self.id,
            kind=AssetKind.parse(self.kind),
            name=self.name,
            owner=self.owner,
            labels=Labels(labels),
            networks=tuple(networks),
            dns_names=tuple(names),
            ports=tuple(PortRange.parse(port) for port in self.ports),
            gateway_apps=tuple(self.gatewayApps),
            origin=origin,
        )


class FlowSchema(Schema):
    id: Id
    source: Id = Field(alias="from")
    destination: Id = Field(alias="to")
    ports: Annotated[list[PortText], Field(min_length=1)]
    classification: ClassificationText
    tags: list[Tag] = []
    purpose: Text = ""
    encrypted: bool = False

    def to_model(self, origin: Origin | None) -> DataFlow:
        return DataFlow(
            id=self.id,
            source=self.source,
            destination=self.destination,
            ports=tuple(PortRange.parse(port) for port in self.ports),
            classification=Classification.parse(self.classification),
            tags=tuple(self.tags),
            purpose=self.purpose,
            encrypted=self.encrypted,
            origin=origin,
        )


class InventorySpecSchema(Schema):
    """The ``spec`` of an ``Inventory`` document."""

    assets: list[AssetSchema] = []
    dataStores: list[DataStoreSchema] = []
    flows: list[FlowSchema] = []

    @model_validator(mode="after")
    def _stores_name_assets(self) -> InventorySpecSchema:
        for store in self.dataStores:
            if store.asset is None:
                raise ValueError(f"data store {store.id!r} needs 'asset' (or nest it in one)")
        return self


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """A schema error at ``loc`` inside the validated body."""

    loc: Loc
    message: str


def schema_problems(error: ValidationError) -> list[SchemaProblem]:
    """Every error of a pydantic ``ValidationError``, with a message for a person."""
    found = []
    for item in error.errors(include_url=False):
        kind = item["type"]
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "required field is missing"
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
        found.append(SchemaProblem(tuple(item["loc"]), message))
    return found


# -- writing back ---------------------------------------------------------------------------
def _compact(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value not in (None, "", [], {}, False)}


def data_store_json(store: DataStore, *, nested: bool = False) -> dict[str, Any]:
    """A data store as written; ``nested`` leaves out the asset (it is the parent)."""
    body: dict[str, Any] = {"id": store.id}
    if not nested:
        body["asset"] = store.asset
    body.update(
        _compact(
            {
                "name": store.name,
                "classification": store.classification.value,
                "tags": list(store.tags),
            }
        )
    )
    if store.records is not None:
        body["records"] = store.records
    return body


def asset_json(asset: Asset, stores: Sequence[DataStore] = ()) -> dict[str, Any]:
    """An asset as written, with ``stores`` nested under ``dataStores``."""
    labels = {key: value for key, value in asset.labels.items() if key != "env"}
    return {"id": asset.id, "kind": asset.kind.value} | _compact(
        {
            "name": asset.name,
            "owner": asset.owner,
            "environment": asset.environment,
            "labels": labels,
            "addresses": [format_network(net) for net in asset.networks] + list(asset.dns_names),
            "ports": [str(port) for port in asset.ports],
            "gatewayApps": list(asset.gateway_apps),
            "dataStores": [data_store_json(store, nested=True) for store in stores],
        }
    )


def flow_json(flow: DataFlow) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": flow.id,
        "from": flow.source,
        "to": flow.destination,
        "ports": [str(port) for port in flow.ports],
        "classification": flow.classification.value,
    }
    body.update(_compact({"tags": list(flow.tags), "purpose": flow.purpose}))
    body["encrypted"] = flow.encrypted
    return body
