"""Evidence data as bounded tables an auditor can read (pure).

A collector's ``data`` is a mapping of names to JSON values: a list of rows (user names, app
ids, flows), a list of plain values, a nested mapping, or one value. Each becomes a small
table, cut at ``max_rows`` rows and ``max_columns`` columns with the totals said, so a tenant
with ten thousand users still gets a report of readable size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from menshen.compliance.model import JsonValue

__all__ = ["DataTable", "data_tables"]

MAX_ROWS = 25
MAX_COLUMNS = 8
MAX_CELL = 200


@dataclass(frozen=True, slots=True)
class DataTable:
    """One named part of an evidence's data, as rows of text cells."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: int

    @property
    def cut(self) -> bool:
        return self.total > len(self.rows)


def data_tables(
    data: Mapping[str, JsonValue], *, max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS
) -> tuple[DataTable, ...]:
    """The tables of one evidence's ``data``, in key order."""
    scalars: list[tuple[str, ...]] = []
    tables: list[DataTable] = []
    for name in sorted(data):
        value = data[name]
        if isinstance(value, list):
            tables.append(_list_table(name, value, max_rows, max_columns))
        elif isinstance(value, dict):
            # one level down: a nested list gets its own table ("failing.rows")
            nested = sorted((k, v) for k, v in value.items() if isinstance(v, list))
            items = sorted((k, v) for k, v in value.items() if not isinstance(v, list))
            if items or not nested:
                rows = tuple((str(k), cell(v)) for k, v in items[:max_rows])
                tables.append(DataTable(name, ("", ""), rows, len(items)))
            for key, inner in nested:
                tables.append(_list_table(f"{name}.{key}", inner, max_rows, max_columns))
        else:
            scalars.append((name, cell(value)))
    if scalars:
        tables.insert(0, DataTable("", ("", ""), tuple(scalars), len(scalars)))
    return tuple(tables)


def _list_table(
    name: str, items: Sequence[JsonValue], max_rows: int, max_columns: int
) -> DataTable:
    if items and all(isinstance(item, dict) for item in items):
        columns: list[str] = []
        for item in items[:max_rows]:
            assert isinstance(item, dict)
            for key in item:
                if key not in columns and len(columns) < max_columns:
                    columns.append(key)
        rows = tuple(
            tuple(cell(item.get(col)) if isinstance(item, dict) else "" for col in columns)
            for item in items[:max_rows]
        )
        return DataTable(name, tuple(columns), rows, len(items))
    rows = tuple((cell(item),) for item in items[:max_rows])
    return DataTable(name, ("",), rows, len(items))


def cell(value: JsonValue) -> str:
    """One value as short text (long values cut with an ellipsis)."""
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, str | int):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"
