"""Fixtures for the identity service: cheap Argon2, a fixed clock, seeded randomness."""

from __future__ import annotations

import random

import pytest

from menshen.identity.passwords import PasswordCheck, PasswordHasher, PasswordParams
from menshen.identity.service import IdentityService
from menshen.store.api import TenantStore
from menshen.testing import FixedClock

CHEAP = PasswordParams(memory_kib=64, time_cost=1)
PASSWORD = "correct horse battery"
_SEAL_PREFIX = b"sealed:"


class CountingHasher(PasswordHasher):
    """A real hasher that counts verifications and dummy verifications."""

    def __init__(self, params: PasswordParams = CHEAP) -> None:
        super().__init__(params)
        self.verified = 0
        self.dummies = 0

    def verify(self, stored_hash: str, password: str) -> PasswordCheck:
        self.verified += 1
        return super().verify(stored_hash, password)

    def dummy_verify(self) -> None:
        self.dummies += 1
        super().dummy_verify()


def fake_seal(plain: bytes) -> bytes:
    """Reversible stand-in for the data-key encryption."""
    return _SEAL_PREFIX + plain[::-1]


def fake_unseal(sealed: bytes) -> bytes:
    if not sealed.startswith(_SEAL_PREFIX):
        raise ValueError("not sealed by fake_seal")
    return sealed[len(_SEAL_PREFIX) :][::-1]


def make_service(
    store: TenantStore, clock: FixedClock, hasher: PasswordHasher, seed: int = 42
) -> IdentityService:
    return IdentityService(
        store, hasher, clock, fake_seal, fake_unseal, random=random.Random(seed).randbytes
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def service(
    tenant_store: TenantStore, clock: FixedClock, hasher: CountingHasher
) -> IdentityService:
    return make_service(tenant_store, clock, hasher)
