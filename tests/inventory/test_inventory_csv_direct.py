"""The direct CSV path (rows built straight into the model) answers as the schema path does."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.inventory import InvalidModel, InventoryItems, codec, csvio
from menshen.inventory.csvio import ASSET_COLUMNS, FLOW_COLUMNS, STORE_COLUMNS, parse_csv

IDS = ("web", "db-1", "a.b_c", "Bad", "", "x" * 70, "-x")
CELLS = {
    "kind": ("host", "database", "workstation", "router", ""),
    "name": ("", "Settlement DB, primary", "台北", "=SUM(A1)", "a\x01b"),
    "owner": ("", "dba@firm.example", "@me"),
    "environment": ("", "prod", "dev", "bad value"),
    "role": ("", "web", "db", "no good"),
    "app": ("", "pay", "-x"),
    "location": ("", "tpe", "dc1"),
    "labels": ("", "tier=gold", "env=prod", "env=dev", "bad", "K=v", "tier=gold;zone=a", "a=b;;"),
    "addresses": (
        "", "10.0.0.1", "10.0.0.0/24", "10.0.0.7/24", "db.internal", "Bad.Host",
        "10.0.0.1;db.internal", "2001:db8::1", "300.1.1.1", "1.2.3",
    ),
    "ports": ("", "tcp/22", "tcp/70000", "udp/53;tcp/443", "icmp/1", "tcp/22;tcp/22", "tcp/9-8"),
    "gateway_apps": ("", "pay", "Pay", "pay;wiki"),
    "classification": ("public", "restricted", "secret", ""),
    "tags": ("", "pii", "pii;card-data", "PII", "a b"),
    "records": ("", "0", "12", "-1", "many"),
    "purpose": ("", "settlement batch", "+1"),
    "encrypted": ("", "yes", "no", "maybe", "TRUE"),
}  # fmt: skip
for column in ("id", "asset", "source", "destination"):
    CELLS[column] = IDS


GOOD = 3
"""The first ``GOOD`` values of each column (fewer where the list says) are valid."""
_FEWER_GOOD = {"name": 3, "owner": 2, "environment": 3, "role": 3, "app": 2, "labels": 4,
               "addresses": 3, "ports": 2, "gateway_apps": 2, "classification": 2, "tags": 3,
               "records": 3, "purpose": 2, "encrypted": 3}  # fmt: skip


def cells(column: str, *, good: bool) -> tuple[str, ...]:
    """The values a column's cell is drawn from: valid ones only, or any."""
    values = CELLS[column]
    return values[: _FEWER_GOOD.get(column, GOOD)] if good else values


@st.composite
def csv_texts(draw: st.DrawFn, columns: tuple[str, ...]) -> str:
    """A header (all columns, shuffled) and up to 8 rows of good and bad cells."""
    header = draw(st.permutations(columns))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 8))):
        good = draw(st.integers(0, 9)) > 0  # mostly good rows, so whole files import too
        writer.writerow([draw(st.sampled_from(cells(name, good=good))) for name in header])
    return out.getvalue()


def outcome(text: str) -> tuple[str, object]:
    """What parse_csv gives: the items with their origins, or every problem with its place."""
    try:
        items = parse_csv(text, "x.csv")
    except InvalidModel as error:
        return "error", [(str(p.origin), p.message) for p in error.problems]
    return "items", items_with_origins(items)


def items_with_origins(items: InventoryItems) -> list[object]:
    every: list[Any] = [*items.assets, *items.data_stores, *items.flows]
    return [(item, item.origin) for item in every]


def schema_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send every row down the schema path, as the reader did before the direct path."""

    def refuse(row: object, origin: object) -> None:
        raise ValueError("schema path, please")

    for name in ("_asset_direct", "_store_direct", "_flow_direct"):
        monkeypatch.setattr(csvio, name, refuse)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(csv_texts(ASSET_COLUMNS), csv_texts(STORE_COLUMNS), csv_texts(FLOW_COLUMNS)))
def test_direct_path_gives_what_the_schema_path_gives(text: str) -> None:
    """Random good and bad rows: equal items and origins, or the same problems word for word."""
    direct = outcome(text)
    with pytest.MonkeyPatch.context() as patch:
        schema_only(patch)
        assert outcome(text) == direct


def test_good_rows_take_the_direct_path() -> None:
    """A good file never reaches the schema (that is where the time went)."""
    text = (
        "id,kind,environment,labels,addresses,ports\n"
        "web,host,prod,tier=gold,10.0.0.1;web.internal,tcp/443;tcp/80\n"
    )
    with pytest.MonkeyPatch.context() as patch:

        def no_schema(body: object) -> None:
            raise AssertionError("the schema path was taken")

        patch.setattr(codec.AssetSchema, "model_validate", no_schema)
        (asset,) = parse_csv(text, "x.csv").assets
    assert asset.environment == "prod"
    assert [str(port) for port in asset.ports] == ["tcp/80", "tcp/443"]
