"""Fixtures for the assertion tests: a sealed-key keyring over an in-memory key table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from menshen.assertions.keyring import Keyring
from menshen.crypto import SecretBox
from menshen.errors import Conflict, NotFound
from menshen.store.records import SigningKeyRecord
from menshen.testing import FixedClock

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
MASTER_KEY = bytes(range(32))


class MemoryKeys:
    """A ``KeyRepository`` in memory, oldest first like the SQL one."""

    def __init__(self) -> None:
        self.rows: list[SigningKeyRecord] = []

    def add(self, key: SigningKeyRecord) -> None:
        if any(r.kid == key.kid for r in self.rows):
            raise Conflict(key.kid)
        self.rows.append(key)

    def list(self) -> Sequence[SigningKeyRecord]:
        return sorted(self.rows, key=lambda r: (r.created_at, r.kid))

    def retire(self, kid: str, at: datetime) -> None:
        for i, row in enumerate(self.rows):
            if row.kid == kid:
                if row.retired_at is None:
                    self.rows[i] = replace(row, retired_at=at)
                return
        raise NotFound(kid)

    def delete(self, kid: str) -> None:
        before = len(self.rows)
        self.rows = [r for r in self.rows if r.kid != kid]
        if len(self.rows) == before:
            raise NotFound(kid)


class MemoryTenantKeys:
    def __init__(self, tenant_id: str = "t1") -> None:
        self.tenant_id = tenant_id
        self.keys = MemoryKeys()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(MASTER_KEY)


@pytest.fixture
def keyring(clock: FixedClock, box: SecretBox) -> Keyring:
    """A keyring with its first key, on an in-memory key table."""
    ring = Keyring(MemoryTenantKeys(), box, clock)
    ring.ensure_key()
    return ring
