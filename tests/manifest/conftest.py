"""Fixtures for the manifest tests: a sample firm's file, a clock, a tenant with users."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from menshen.store.api import TenantStore
from menshen.store.records import UserRecord
from menshen.testing import FixedClock

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

FIRM = """\
# The reference customer: a payment gateway's settlement admin.
apiVersion: menshen.dev/v1
kind: Group
metadata: {name: ops}
spec:
  description: Operations engineers
  mfaRequired: true
  members: [alice, bob]
---
apiVersion: menshen.dev/v1
kind: Group
metadata:
  name: contractors
spec:
  description: Outside contractors
---
apiVersion: menshen.dev/v1
kind: App
metadata:
  name: settlement
spec:
  hosts: [settlement.example.tw]
  upstream: http://10.0.0.5:8080
  title: Settlement admin
  maxBodyBytes: 1048576
---
apiVersion: menshen.dev/v1
kind: App
metadata:
  name: wiki
spec:
  hosts: [intra.example.tw]
  pathPrefix: /wiki/
  upstream: https://wiki.internal
  preserveHost: true
---
apiVersion: menshen.dev/v1
kind: Policy
metadata:
  name: settlement-access
spec:
  app: settlement
  rules:
    - name: no-contractors
      effect: deny
      groups: [contractors]
    - name: ops-admin
      groups: [ops]
      paths: [/admin]
      sourceNetworks: [10.0.0.0/8]
      mfa: {required: true, maxAge: 12h}
    - name: ops-read
      groups: [ops]
      methods: [get, HEAD]
"""


def make_user(username: str, user_id: str | None = None) -> UserRecord:
    return UserRecord(
        tenant_id="t1",
        id=user_id or f"id-{username}",
        username=username,
        email=f"{username}@example.tw",
        display_name=username.title(),
        password_hash=None,
        disabled=False,
        created_at=T0,
        updated_at=T0,
    )


@pytest.fixture
def clock() -> FixedClock:
    """A clock frozen at the tests' reference time."""
    return FixedClock(T0)


@pytest.fixture
def firm(tenant_store: TenantStore) -> TenantStore:
    """Tenant t1 (on each store back-end) with users alice, bob and carol."""
    for name in ("alice", "bob", "carol"):
        tenant_store.users.add(make_user(name))
    return tenant_store
