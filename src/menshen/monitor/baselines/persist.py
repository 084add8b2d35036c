"""Baselines in the store: loaded at start, saved in batches (the I/O edge of baselines).

Each profile is one row of ``monitor_baselines`` (kind, entity id, codec version, JSON); the
tenant-wide peer groups and places are the row ``firm/*``. A row of another codec version is
skipped (that entity learns afresh) and counted, never a start-up failure. Saving writes
only the profiles changed since the last save, ``batch`` rows per transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from menshen.errors import InvalidInput
from menshen.monitor.baselines.book import BaselineBook
from menshen.monitor.baselines.codec import (
    VERSION,
    dump_firm,
    dump_profile,
    load_firm,
    load_profile,
)
from menshen.monitor.baselines.config import BaselineConfig
from menshen.monitor.model import Entity, EntityKind
from menshen.store.api import BaselineRepository
from menshen.store.monitor_baselines import BaselineRecord

__all__ = ["LoadReport", "changed_rows", "load_book", "peer_groups", "save_book"]

FIRM_KIND = "firm"
FIRM_ID = "*"


@dataclass(frozen=True, slots=True)
class LoadReport:
    loaded: int
    skipped: int


class _Directory(Protocol):
    """The part of a tenant store ``peer_groups`` reads."""

    @property
    def users(self) -> _Users: ...


class _Users(Protocol):
    def list(self) -> Sequence[_User]: ...
    def groups_of(self, user_id: str) -> Sequence[_Group]: ...


class _User(Protocol):
    @property
    def id(self) -> str: ...


class _Group(Protocol):
    @property
    def name(self) -> str: ...


def load_book(
    repository: BaselineRepository, config: BaselineConfig
) -> tuple[BaselineBook, LoadReport]:
    """A book holding every saved profile of the tenant."""
    book = BaselineBook(config)
    loaded = skipped = 0
    for record in repository.iterate():
        try:
            if record.kind == FIRM_KIND:
                load_firm(book, record.state)
            else:
                entity = Entity(EntityKind(record.kind), record.entity_id)
                book.put(entity, load_profile(record.state, config))
            loaded += 1
        except (InvalidInput, ValueError):
            skipped += 1
    return book, LoadReport(loaded, skipped)


def save_book(
    book: BaselineBook,
    repository: BaselineRepository,
    now: datetime,
    *,
    batch: int = 500,
    tenant_id: str,
    include_firm: bool = True,
) -> int:
    """Save the profiles changed since the last save (and the firm row); rows written."""
    rows = changed_rows(book, now, tenant_id=tenant_id, include_firm=include_firm)
    for start in range(0, len(rows), batch):
        repository.save(rows[start : start + batch])
    return len(rows)


def changed_rows(
    book: BaselineBook, now: datetime, *, tenant_id: str, include_firm: bool = True
) -> list[BaselineRecord]:
    """The rows of the profiles changed since the last call (a snapshot: the book may go on
    learning while they are written)."""
    rows = [
        BaselineRecord(tenant_id, e.kind.value, e.id, VERSION, dump_profile(p), now)
        for e, p in book.take_dirty()
    ]
    if include_firm:
        rows.append(BaselineRecord(tenant_id, FIRM_KIND, FIRM_ID, VERSION, dump_firm(book), now))
    return rows


def peer_groups(directory: _Directory) -> Callable[[str], str | None]:
    """user id -> peer-group key (the sorted names of the user's groups; None without any)."""
    table: dict[str, str] = {}
    for user in directory.users.list():
        names = sorted(group.name for group in directory.users.groups_of(user.id))
        if names:
            table[user.id] = ",".join(names)
    return table.get
