"""JSON Lines export and verification of a stored chain, on SQLite and PostgreSQL.

The tamper tests change rows behind the repository's back, with SQL, as an attacker with
database access would.
"""

from __future__ import annotations

import dataclasses
import io
import json

from sqlalchemy import text

from menshen.events.bus import EventBus
from menshen.events.chain import GENESIS_HASH, verify_chain
from menshen.events.export import export_jsonl, read_jsonl, verify
from menshen.events.writer import AuditWriter
from menshen.store.sql import SqlStore, SqlTenantStore
from menshen.testing import FixedClock

from .conftest import make_event


def _fill(tenant_store: SqlTenantStore, store: SqlStore, clock: FixedClock, n: int) -> None:
    writer = AuditWriter(store, EventBus(), clock)
    writer.write_now([make_event(i) for i in range(n)])


def _sql(store: SqlStore, statement: str, **params: object) -> None:
    with store.database.write() as conn:
        conn.execute(text(statement), params)


def test_a_stored_chain_verifies(store: SqlStore, tenant_store: SqlTenantStore) -> None:
    """Rows written by the writer read back to a valid chain on each back-end."""
    _fill(tenant_store, store, FixedClock(), 5)
    report = verify(tenant_store)
    assert report.ok, report.reason
    assert report.count == 5


def test_verify_catches_a_field_changed_in_the_database(
    store: SqlStore, tenant_store: SqlTenantStore
) -> None:
    """An UPDATE of one row's outcome is found, at that row."""
    _fill(tenant_store, store, FixedClock(), 5)
    _sql(store, "UPDATE audit_events SET outcome = 'deny' WHERE tenant_id = 't1' AND seq = 3")
    report = verify(tenant_store)
    assert not report.ok
    assert report.first_bad_seq == 3


def test_verify_catches_changed_details_in_the_database(
    store: SqlStore, tenant_store: SqlTenantStore
) -> None:
    """An UPDATE of the JSON details is found."""
    _fill(tenant_store, store, FixedClock(), 3)
    details = json.dumps({"n": 1, "path": "/admin"})
    _sql(
        store,
        "UPDATE audit_events SET details = :d WHERE tenant_id = 't1' AND seq = 2",
        d=details,
    )
    assert verify(tenant_store).first_bad_seq == 2


def test_verify_catches_a_deleted_row(store: SqlStore, tenant_store: SqlTenantStore) -> None:
    """A DELETE leaves a gap that is reported at the missing seq."""
    _fill(tenant_store, store, FixedClock(), 5)
    _sql(store, "DELETE FROM audit_events WHERE tenant_id = 't1' AND seq = 2")
    report = verify(tenant_store)
    assert not report.ok
    assert report.first_bad_seq == 2
    assert "missing" in (report.reason or "")


def test_verify_catches_swapped_rows(store: SqlStore, tenant_store: SqlTenantStore) -> None:
    """Swapping the seq of two rows (reordering history) is found."""
    _fill(tenant_store, store, FixedClock(), 5)
    for old, new in ((2, -2), (3, 2), (-2, 3)):
        _sql(
            store,
            "UPDATE audit_events SET seq = :new WHERE tenant_id = 't1' AND seq = :old",
            new=new,
            old=old,
        )
    report = verify(tenant_store)
    assert not report.ok
    assert report.first_bad_seq == 2


def test_verify_catches_a_changed_prev_hash(store: SqlStore, tenant_store: SqlTenantStore) -> None:
    """Rewriting a row's prev_hash breaks the link."""
    _fill(tenant_store, store, FixedClock(), 4)
    _sql(
        store,
        "UPDATE audit_events SET prev_hash = :h WHERE tenant_id = 't1' AND seq = 4",
        h="a" * 64,
    )
    assert verify(tenant_store).first_bad_seq == 4


def test_export_writes_one_json_object_per_line(sqlite_store: SqlStore) -> None:
    """Each line is a JSON object with seq, hash, prev_hash and every hashed field."""
    tenant = sqlite_store.tenant("t1")
    _fill(tenant, sqlite_store, FixedClock(), 3)
    out = io.StringIO()
    assert export_jsonl(tenant, out) == 3
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert first["seq"] == 1
    assert first["prev_hash"] == GENESIS_HASH
    assert first["hash"] == json.loads(lines[1])["prev_hash"]
    assert set(first) == {
        "tenant_id", "seq", "id", "at", "kind", "outcome", "actor", "subject", "app", "ip",
        "session_id", "reason", "details", "prev_hash", "hash",
    }  # fmt: skip
    assert first["at"] == "2026-01-05T09:00:00.000000Z"
    assert first["details"] == {"n": 0, "path": "/settlements"}


def test_export_after_seq_writes_only_newer_rows(sqlite_store: SqlStore) -> None:
    """after_seq skips the rows already exported."""
    tenant = sqlite_store.tenant("t1")
    _fill(tenant, sqlite_store, FixedClock(), 5)
    out = io.StringIO()
    assert export_jsonl(tenant, out, after_seq=3) == 2
    assert [json.loads(line)["seq"] for line in out.getvalue().splitlines()] == [4, 5]


def test_an_export_verifies_offline_and_shows_tampering(sqlite_store: SqlStore) -> None:
    """An auditor re-verifies an export without the database; an edited line is caught."""
    tenant = sqlite_store.tenant("t1")
    _fill(tenant, sqlite_store, FixedClock(), 4)
    out = io.StringIO()
    export_jsonl(tenant, out)
    lines = out.getvalue().splitlines()
    assert verify_chain(read_jsonl(lines)).ok
    edited = json.loads(lines[1])
    edited["actor"] = "someone-else"
    lines[1] = json.dumps(edited)
    report = verify_chain(read_jsonl(lines))
    assert not report.ok
    assert report.first_bad_seq == 2


def test_awkward_details_read_back_to_the_same_hash(
    store: SqlStore, tenant_store: SqlTenantStore
) -> None:
    """Numbers and text that JSON stores may rewrite (1e16, -0.0, NUL, emoji) still verify."""
    event = make_event(0)
    awkward = {
        "big": 1e16,
        "neg0": -0.0,
        "small": 1.5e-7,
        "nul": "a\x00b",
        "emoji": "\U0001f512 鎖",
        "nested": {"z": [1, 2.5, None, True], "a": {}},
        "huge_int": 2**70,
    }
    writer = AuditWriter(store, EventBus(), FixedClock())
    writer.write_now([dataclasses.replace(event, details=awkward)])
    report = verify(tenant_store)
    assert report.ok, report.reason
