"""CSV in and out for spreadsheets: assets, data stores, declared flows, observed flows.

RFC 4180 CSV with a header row naming the columns (any order; unknown columns refused, so a
misspelt ``adresses`` is caught). Lists inside a cell are separated by ``;`` and labels are
``key=value;key=value``. Each row is checked by the same schema as YAML; every bad row is
reported with its line number and, since ``parse_csv`` either returns every row or raises,
nothing is ever half-imported. Reading and writing work on text; the file edge is the caller's.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError

from menshen.inventory.bulk import paused_gc
from menshen.inventory.catalog import Inventory, InventoryItems
from menshen.inventory.codec import AssetSchema, DataStoreSchema, FlowSchema, schema_problems
from menshen.inventory.fields import Network, format_network, parse_address
from menshen.inventory.model import (
    Asset,
    AssetKind,
    Classification,
    DataFlow,
    DataStore,
    Labels,
    ObservedFlow,
    PortRange,
    parse_endpoint,
)
from menshen.inventory.problems import Origin, Problem, raise_if_any

ASSET_COLUMNS = (
    "id", "kind", "name", "owner", "environment", "role", "app", "location", "labels",
    "addresses", "ports", "gateway_apps",
)  # fmt: skip
STORE_COLUMNS = ("id", "asset", "name", "classification", "tags", "records")
FLOW_COLUMNS = (
    "id", "source", "destination", "ports", "classification", "tags", "purpose", "encrypted",
)  # fmt: skip
OBSERVED_COLUMNS = ("src", "dst", "port", "protocol", "count")
_REQUIRED = {
    "assets": ("id", "kind"),
    "data stores": ("id", "asset", "classification"),
    "flows": ("id", "source", "destination", "ports", "classification"),
    "observed flows": ("src", "dst", "port"),
}
_LABEL_COLUMNS = ("role", "app", "location")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n", ""}
MAX_ROWS = 1_000_000

Row = dict[str, str]
T = TypeVar("T")


def _rows(text: str, source: str, columns: Sequence[str], what: str) -> Iterator[tuple[int, Row]]:
    """Each data row with its first line; raises for a bad header, yields row problems."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise_if_any([Problem("the file is empty: expected a header row", Origin(source, 1))])
        return
    except csv.Error as exc:
        raise_if_any([Problem(f"unreadable header: {exc}", Origin(source, 1))])
        return
    problems = []
    unknown = [name for name in header if name not in columns]
    if unknown:
        problems.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
    missing = [name for name in _REQUIRED[what] if name not in header]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)} for {what}")
    if len(set(header)) != len(header):
        problems.append("a column is named twice")
    if problems:
        expected = ", ".join(columns)
        raise_if_any([Problem(f"{'; '.join(problems)} (columns: {expected})", Origin(source, 1))])
    line = reader.line_num
    count = 0
    while True:  # ends with the text: each step consumes at least one line
        start = line + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            stuck = reader.line_num == line
            line = reader.line_num
            yield start, {"": f"unreadable row: {exc}"}
            if stuck:
                return
            continue
        line = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if fields[0].lstrip().startswith("#"):
            continue
        count += 1
        if count > MAX_ROWS:
            yield start, {"": f"more than {MAX_ROWS} rows; split the file"}
            return
        if len(fields) != len(header):
            yield start, {"": f"row has {len(fields)} fields, the header has {len(header)}"}
            continue
        yield start, dict(zip(header, map(str.strip, fields), strict=True))


def _split(cell: str) -> list[str]:
    if ";" not in cell:  # the usual cell: empty or one value (already stripped by ``_rows``)
        stripped = cell.strip()
        return [stripped] if stripped else []
    return [part.strip() for part in cell.split(";") if part.strip()]


def _labels(cell: str) -> dict[str, str]:
    labels = {}
    for pair in _split(cell):
        key, equals, value = pair.partition("=")
        if not equals:
            raise ValueError(f"label {pair!r} is not key=value")
        labels[key.strip()] = value.strip()
    return labels


def _int(cell: str, what: str) -> int | None:
    if not cell:
        return None
    if not cell.isdigit():
        raise ValueError(f"{what} {cell!r} is not a whole number")
    return int(cell)


def _bool(cell: str) -> bool:
    lowered = cell.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{cell!r} is not yes or no")


def _asset_body(row: Row) -> dict[str, Any]:
    labels = _labels(row.get("labels", ""))
    for column in _LABEL_COLUMNS:
        if row.get(column):
            labels[column] = row[column]
    body: dict[str, Any] = {"id": row["id"], "kind": row["kind"], "labels": labels}
    for column in ("name", "owner"):
        body[column] = row.get(column, "")
    if row.get("environment"):
        body["environment"] = row["environment"]
    body["addresses"] = _split(row.get("addresses", ""))
    body["ports"] = _split(row.get("ports", ""))
    body["gatewayApps"] = _split(row.get("gateway_apps", ""))
    return body


def _store_body(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "asset": row["asset"],
        "name": row.get("name", ""),
        "classification": row["classification"],
        "tags": _split(row.get("tags", "")),
        "records": _int(row.get("records", ""), "records"),
    }


def _flow_body(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "from": row["source"],
        "to": row["destination"],
        "ports": _split(row["ports"]),
        "classification": row["classification"],
        "tags": _split(row.get("tags", "")),
        "purpose": row.get("purpose", ""),
        "encrypted": _bool(row.get("encrypted", "")),
    }


_COLUMN_OF = {"from": "source", "to": "destination", "gatewayApps": "gateway_apps"}


def _column(loc: tuple[str | int, ...]) -> str:
    if not loc:
        return ""
    if loc[0] == "labels" and len(loc) > 1 and loc[1] in _LABEL_COLUMNS:
        return str(loc[1])
    return _COLUMN_OF.get(str(loc[0]), str(loc[0]))


def _parse(
    text: str,
    source: str,
    columns: Sequence[str],
    what: str,
    build: Callable[[Row, Origin], T],
) -> list[T]:
    with paused_gc():
        return _parse_rows(text, source, columns, what, build)


def _parse_rows(
    text: str,
    source: str,
    columns: Sequence[str],
    what: str,
    build: Callable[[Row, Origin], T],
) -> list[T]:
    items: list[T] = []
    problems: list[Problem] = []
    for line, row in _rows(text, source, columns, what):
        # Every column of a row is on the row's line, so ``origin.at(column)`` is the row's
        # place without a per-column ``keys`` list (which cost a fifth of the reading time).
        origin = Origin(source, line)
        if "" in row:
            problems.append(Problem(row[""], origin))
            continue
        try:
            items.append(build(row, origin))
        except ValidationError as exc:
            found = []
            for item in schema_problems(exc):
                column = _column(item.loc)
                found.append((f"column {column!r}: " if column else "") + item.message)
            problems.append(Problem("; ".join(dict.fromkeys(found)), Origin(source, line)))
        except ValueError as exc:
            problems.append(Problem(str(exc), Origin(source, line)))
    raise_if_any(problems)
    return items


def _asset(row: Row, origin: Origin) -> Asset:
    try:
        return _asset_direct(row, origin)
    except ValueError:
        return AssetSchema.model_validate(_asset_body(row)).to_model(origin)


def _store(row: Row, origin: Origin) -> DataStore:
    try:
        return _store_direct(row, origin)
    except ValueError:
        schema = DataStoreSchema.model_validate(_store_body(row))
        return schema.to_model(row["asset"], origin)


def _flow(row: Row, origin: Origin) -> DataFlow:
    try:
        return _flow_direct(row, origin)
    except ValueError:
        return FlowSchema.model_validate(_flow_body(row)).to_model(origin)


# -- the direct path ------------------------------------------------------------------------
# A good row is built straight into the model, whose constructors check every value the
# schema checks (ids, kinds, labels, text, tags, addresses, ports). The first ValueError
# sends the row down the schema path above, which rejects it with the usual per-column
# message (or, were the direct path ever stricter, accepts it): both paths give equal values,
# and tests/inventory/test_inventory_csv_direct.py holds them to it.


@functools.lru_cache(maxsize=4096)
def _ports(cell: str) -> tuple[PortRange, ...]:
    """The port ranges of a cell, remembered: a firm writes the same few on every row.

    Only values are cached (``PortRange`` is frozen); a bad cell raises every time.
    """
    return tuple(PortRange.parse(text) for text in _split(cell))


@functools.lru_cache(maxsize=4096)
def _tags(cell: str) -> tuple[str, ...]:
    """The tags of a cell as written (the model checks and sorts them), remembered."""
    return tuple(_split(cell))


def _asset_direct(row: Row, origin: Origin) -> Asset:
    get = row.get
    labels = _labels(get("labels", ""))
    for column in _LABEL_COLUMNS:
        value = get(column)
        if value:
            labels[column] = value
    environment = get("environment")
    if environment and labels.setdefault("env", environment) != environment:
        raise ValueError("environment and label env disagree")  # the schema words it
    networks: list[Network] = []
    names: list[str] = []
    for text in _split(get("addresses", "")):
        address = parse_address(text)
        if isinstance(address, str):
            names.append(address)
        else:
            networks.append(address)
    return Asset(
        id=row["id"],
        kind=AssetKind.parse(row["kind"]),
        name=get("name", ""),
        owner=get("owner", ""),
        labels=Labels(labels),
        networks=tuple(networks),
        dns_names=tuple(names),
        ports=_ports(get("ports", "")),
        gateway_apps=tuple(_split(get("gateway_apps", ""))),
        origin=origin,
    )


def _store_direct(row: Row, origin: Origin) -> DataStore:
    return DataStore(
        id=row["id"],
        asset=row["asset"],
        classification=Classification.parse(row["classification"]),
        name=row.get("name", ""),
        tags=_tags(row.get("tags", "")),
        records=_int(row.get("records", ""), "records"),
        origin=origin,
    )


def _flow_direct(row: Row, origin: Origin) -> DataFlow:
    return DataFlow(
        id=row["id"],
        source=row["source"],
        destination=row["destination"],
        ports=_ports(row["ports"]),
        classification=Classification.parse(row["classification"]),
        tags=_tags(row.get("tags", "")),
        purpose=row.get("purpose", ""),
        encrypted=_bool(row.get("encrypted", "")),
        origin=origin,
    )


def csv_kind(text: str) -> str:
    """What a CSV holds, from its header: assets, data stores, flows or observed flows."""
    first = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    header = {name.strip().lower() for name in first}
    if {"src", "dst"} <= header:
        return "observed flows"
    if "destination" in header or "source" in header:
        return "flows"
    if "classification" in header and "asset" in header:
        return "data stores"
    if "kind" in header or "addresses" in header:
        return "assets"
    return "unknown"


def parse_csv(text: str, source: str) -> InventoryItems:
    """Assets, data stores or declared flows (told apart by the header); all rows or none."""
    if not text.strip():
        raise_if_any([Problem("the file is empty: expected a header row", Origin(source, 1))])
    what = csv_kind(text)
    if what == "assets":
        return InventoryItems(assets=tuple(_parse(text, source, ASSET_COLUMNS, what, _asset)))
    if what == "data stores":
        stores = _parse(text, source, STORE_COLUMNS, what, _store)
        return InventoryItems(data_stores=tuple(stores))
    if what == "flows":
        return InventoryItems(flows=tuple(_parse(text, source, FLOW_COLUMNS, what, _flow)))
    raise_if_any(
        [
            Problem(
                "cannot tell what this CSV holds: assets need columns id,kind; data stores "
                "id,asset,classification; flows id,source,destination,ports,classification",
                Origin(source, 1),
            )
        ]
    )
    return InventoryItems()


def _observed(row: Row, origin: Origin) -> ObservedFlow:
    protocol = row.get("protocol", "").lower() or "tcp"
    port = _int(row["port"], "port")
    if port is None:
        raise ValueError("column 'port': missing")
    PortRange.parse(f"{protocol}/{port}")
    return ObservedFlow(
        parse_endpoint(row["src"]),
        parse_endpoint(row["dst"]),
        port,
        "udp" if protocol == "udp" else "tcp",
        _int(row.get("count", ""), "count") or 1,
        origin,
    )


def parse_observed_csv(text: str, source: str) -> tuple[ObservedFlow, ...]:
    """Observed flows from a generic ``src,dst,port[,protocol][,count]`` CSV.

    ``src`` and ``dst`` are IP addresses or asset ids; protocol defaults to tcp.
    """
    return tuple(_parse(text, source, OBSERVED_COLUMNS, "observed flows", _observed))


# -- writing --------------------------------------------------------------------------------
def _write(columns: Sequence[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def assets_csv(inventory: Inventory) -> str:
    """The assets as CSV, by id (``parse_csv`` reads it back to the same values)."""
    rows = []
    for asset in inventory.assets:
        extra = [f"{k}={v}" for k, v in asset.labels.items() if k not in (*_LABEL_COLUMNS, "env")]
        addresses = [format_network(net) for net in asset.networks] + list(asset.dns_names)
        rows.append(
            [
                asset.id,
                asset.kind.value,
                asset.name,
                asset.owner,
                asset.environment,
                *(asset.labels.get(column, "") for column in _LABEL_COLUMNS),
                ";".join(extra),
                ";".join(addresses),
                ";".join(str(port) for port in asset.ports),
                ";".join(asset.gateway_apps),
            ]
        )
    return _write(ASSET_COLUMNS, rows)


def data_stores_csv(inventory: Inventory) -> str:
    rows = [
        [
            store.id,
            store.asset,
            store.name,
            store.classification.value,
            ";".join(store.tags),
            "" if store.records is None else str(store.records),
        ]
        for store in inventory.data_stores
    ]
    return _write(STORE_COLUMNS, rows)


def flows_csv(inventory: Inventory) -> str:
    rows = [
        [
            flow.id,
            flow.source,
            flow.destination,
            ";".join(str(port) for port in flow.ports),
            flow.classification.value,
            ";".join(flow.tags),
            flow.purpose,
            "yes" if flow.encrypted else "no",
        ]
        for flow in inventory.flows
    ]
    return _write(FLOW_COLUMNS, rows)
