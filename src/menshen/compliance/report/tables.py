"""Evidence data as bounded tables an auditor can read (pure).

A collector's ``data`` maps names to JSON values. The collectors keep a list of items as a
bounded envelope, ``{"rows": [...], "count": N, "truncated": bool}`` (``collectors.common.rows``):
that becomes one real table, its column headers the rows' keys, at most ``max_rows`` rows and
``max_columns`` columns, its ``total`` the full count so a page can say how many more there
are. Plain values (and short lists of them) become key/value rows of one table; any other
mapping gets its own key/value table, and a list in it its own table. A cell holding a list
of plain values reads "a, b, c", never as JSON, so a tenant with ten thousand users still
gets a report of readable size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from menshen.compliance.model import JsonValue

__all__ = ["DataTable", "cell", "data_tables", "is_envelope"]

MAX_ROWS = 25
MAX_COLUMNS = 8
MAX_CELL = 200
MAX_LISTED = 12
"""A list of plain values is written in one cell up to this many items."""
KEY_VALUE = ("", "")


@dataclass(frozen=True, slots=True)
class DataTable:
    """One named part of an evidence's data, as rows of text cells. ``total`` is how many
    rows there are in all (at least ``len(rows)``); the rest were not shown."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: int

    @property
    def cut(self) -> bool:
        return self.total > len(self.rows)

    @property
    def more(self) -> int:
        """How many rows were not shown."""
        return max(self.total - len(self.rows), 0)

    @property
    def headed(self) -> bool:
        """Whether the columns have names (a key/value table has none)."""
        return any(self.columns)


def is_envelope(value: JsonValue) -> bool:
    """Whether ``value`` is a collector's bounded list: ``rows`` with its ``count``."""
    return _envelope(value) is not None


def _envelope(value: JsonValue) -> tuple[list[JsonValue], int] | None:
    """The rows and full count of a collector's bounded list, or None for anything else."""
    if not isinstance(value, dict) or not set(value) <= {"rows", "count", "truncated"}:
        return None
    items, count = value.get("rows"), value.get("count")
    if not isinstance(items, list) or not isinstance(count, int) or isinstance(count, bool):
        return None
    return items, max(count, len(items))


def data_tables(
    data: Mapping[str, JsonValue], *, max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS
) -> tuple[DataTable, ...]:
    """The tables of one evidence's ``data``: first the plain values as key/value rows, then
    one table per list or mapping, in key order."""
    scalars: list[tuple[str, str]] = []
    tables: list[DataTable] = []
    for name in sorted(data):
        value = data[name]
        envelope = _envelope(value)
        if envelope is not None:
            tables.append(_list_table(name, *envelope, max_rows, max_columns))
        elif isinstance(value, list) and _plain_list(value):
            scalars.append((name, cell(value)))
        elif isinstance(value, list):
            tables.append(_list_table(name, value, len(value), max_rows, max_columns))
        elif isinstance(value, dict):
            tables += _mapping_tables(name, value, max_rows, max_columns)
        else:
            scalars.append((name, cell(value)))
    if scalars:
        tables.insert(0, DataTable("", KEY_VALUE, tuple(scalars[:max_rows]), len(scalars)))
    return tuple(tables)


def _mapping_tables(
    name: str, value: Mapping[str, JsonValue], max_rows: int, max_columns: int
) -> list[DataTable]:
    """A mapping one level down: its plain values as key/value rows, each list or envelope
    in it as its own table named ``name.key``."""
    tables: list[DataTable] = []
    items: list[tuple[str, str]] = []
    for key in sorted(value):
        inner = value[key]
        envelope = _envelope(inner)
        if envelope is not None:
            tables.append(_list_table(f"{name}.{key}", *envelope, max_rows, max_columns))
        elif isinstance(inner, list) and not _plain_list(inner):
            tables.append(_list_table(f"{name}.{key}", inner, len(inner), max_rows, max_columns))
        else:
            items.append((key, cell(inner)))
    if items or not tables:
        tables.insert(0, DataTable(name, KEY_VALUE, tuple(items[:max_rows]), len(items)))
    return tables


def _list_table(
    name: str, items: Sequence[JsonValue], total: int, max_rows: int, max_columns: int
) -> DataTable:
    shown = items[:max_rows]
    if shown and all(isinstance(item, dict) for item in shown):
        columns: list[str] = []
        for item in shown:
            if isinstance(item, dict):
                columns += [key for key in item if key not in columns]
        columns = columns[:max_columns]
        rows = tuple(
            tuple(cell(item.get(col)) if isinstance(item, dict) else "" for col in columns)
            for item in shown
        )
        return DataTable(name, tuple(columns), rows, total)
    return DataTable(name, ("",), tuple((cell(item),) for item in shown), total)


def _plain_list(value: Sequence[JsonValue]) -> bool:
    """A short list of plain values, written in one cell."""
    return len(value) <= MAX_LISTED and not any(isinstance(v, list | dict) for v in value)


def cell(value: JsonValue) -> str:
    """One value as short text: a list of plain values as "a, b" (empty: "-"), anything
    nested as compact JSON; long text cut with an ellipsis."""
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, str | int):
        text = str(value)
    elif isinstance(value, list) and not any(isinstance(v, list | dict) for v in value):
        text = ", ".join(cell(v) for v in value) if value else "-"
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"
