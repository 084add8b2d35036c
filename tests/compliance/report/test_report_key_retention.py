"""Reports stay verifiable after key rotation: a pruned key that signed a recorded report
keeps its public half (SQLite and PostgreSQL); tampered and forged reports still fail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.app import Platform
from menshen.assertions.keyring import Keyring, SigningKey
from menshen.cli.main import app
from menshen.compliance.model import JsonValue
from menshen.compliance.report.canonical import content_hash
from menshen.compliance.report.sign import envelope, report_key_set, sign_hash, verify_bytes
from menshen.crypto import SecretBox
from menshen.demo.firm import TENANT, seed
from menshen.errors import Conflict, InvalidInput
from menshen.settings import load_settings
from menshen.store.compliance import ReportRecord
from menshen.store.keys import is_public_only
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from menshen.testing import FixedClock

T0 = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
LATER = 2 * 3600.0  # seconds: far past the assertion lifetime + skew: rotation prunes
MASTER_KEY = bytes(range(32))


def _content(tenant: str = "t1") -> dict[str, JsonValue]:
    return {"tenant": tenant, "framework": {"id": "pci-dss-8"}, "controls": []}


def _signed(tenant_store: SqlTenantStore, key: SigningKey, content: dict[str, JsonValue]) -> bytes:
    """A signed JSON report, recorded like ``menshen report`` records it."""
    signature = sign_hash(tenant_store.tenant_id, content_hash(content), key)
    tenant_store.compliance_reports.add(
        ReportRecord(
            tenant_id=tenant_store.tenant_id,
            id=f"r-{key.kid[:8]}",
            framework="pci-dss-8",
            lang="en",
            format="json",
            created_at=T0,
            period_start=T0 - timedelta(days=30),
            period_end=T0,
            content_sha256=signature.content_sha256,
            signature=signature.jws,
            key_id=signature.key_id,
        )
    )
    return json.dumps(envelope(content, signature)).encode()


def _rotate_and_prune(ring: Keyring, clock: FixedClock) -> list[str]:
    ring.rotate()
    clock.advance(LATER)
    return ring.prune()


@pytest.fixture
def clock() -> FixedClock:
    """A clock frozen at T0."""
    return FixedClock(T0)


@pytest.fixture
def ring(tenant_store: SqlTenantStore, clock: FixedClock) -> Keyring:
    """Tenant t1's keyring on the real store."""
    return Keyring(tenant_store, SecretBox(MASTER_KEY), clock)


def test_report_verifies_after_its_key_is_rotated_and_pruned(
    tenant_store: SqlTenantStore, ring: Keyring, clock: FixedClock
) -> None:
    """Sign, rotate, prune: the key leaves the assertion JWKS but the report still verifies."""
    old = ring.ensure_key()
    report = _signed(tenant_store, old, _content())
    assert _rotate_and_prune(ring, clock) == [old.kid]
    assert old.kid not in ring.published_kids()
    assert old.kid not in {k["kid"] for k in ring.jwks()["keys"]}
    (kept,) = [k for k in tenant_store.keys.list() if k.kid == old.kid]
    assert is_public_only(kept)
    assert kept.retired_at is not None
    verified = verify_bytes(report, report_key_set(tenant_store.keys.list()))
    assert verified.key_id == old.kid
    assert verified.key_retired_at == kept.retired_at.isoformat()


def test_a_retired_key_without_reports_is_still_deleted(
    tenant_store: SqlTenantStore, ring: Keyring, clock: FixedClock
) -> None:
    """Only keys named by a recorded report are kept; the others go as before."""
    old = ring.ensure_key()
    assert _rotate_and_prune(ring, clock) == [old.kid]
    assert old.kid not in {k.kid for k in tenant_store.keys.list()}


def test_a_kept_key_is_pruned_once_and_never_signs_again(
    tenant_store: SqlTenantStore, ring: Keyring, clock: FixedClock
) -> None:
    """The next rotation leaves the kept key alone; the active key is the new one."""
    old = ring.ensure_key()
    _signed(tenant_store, old, _content())
    _rotate_and_prune(ring, clock)
    second = _rotate_and_prune(ring, clock)
    assert old.kid not in second
    assert ring.active_signing_key().kid != old.kid
    assert [k.kid for k in tenant_store.keys.list() if is_public_only(k)] == [old.kid]


def test_tampered_report_fails_after_rotation(
    tenant_store: SqlTenantStore, ring: Keyring, clock: FixedClock
) -> None:
    """A changed byte of the content is caught with the kept key too."""
    old = ring.ensure_key()
    report = _signed(tenant_store, old, _content())
    _rotate_and_prune(ring, clock)
    doc = json.loads(report)
    doc["content"]["framework"]["id"] = "pci-dss-8x"
    with pytest.raises(InvalidInput, match="changed after signing"):
        verify_bytes(json.dumps(doc).encode(), report_key_set(tenant_store.keys.list()))


def test_report_signed_by_an_unrecorded_key_fails(
    store: SqlStore, tenant_store: SqlTenantStore, ring: Keyring, clock: FixedClock
) -> None:
    """A forger's own key (never in the tenant's store) does not verify, kid and all."""
    old = ring.ensure_key()
    _signed(tenant_store, old, _content())
    _rotate_and_prune(ring, clock)
    store.add_tenant(TenantRecord(id="t2", name="Forger", created_at=T0))
    other_store = store.tenant("t2")
    forger = Keyring(other_store, SecretBox(MASTER_KEY), clock).ensure_key()
    signature = sign_hash("t1", content_hash(_content()), forger)
    forged = json.dumps(envelope(_content(), signature)).encode()
    with pytest.raises(InvalidInput, match="not in the tenant's published key set"):
        verify_bytes(forged, report_key_set(tenant_store.keys.list()))


def test_active_key_named_by_a_report_cannot_be_deleted(
    tenant_store: SqlTenantStore, ring: Keyring
) -> None:
    """Deleting the active key that signed a report is refused, and nothing changes."""
    key = ring.ensure_key()
    _signed(tenant_store, key, _content())
    with pytest.raises(Conflict, match="retire it first"):
        tenant_store.keys.delete(key.kid)
    (record,) = tenant_store.keys.list()
    assert not is_public_only(record)


SETTINGS = f"tenant: {TENANT}\ntenant_name: Formosa Pay\n"


def test_cli_verifies_a_report_after_keys_rotate_and_prune(tmp_path: Path) -> None:
    """`menshen report`, then a rotation pruned the key: `report verify` still passes."""
    config = tmp_path / "menshen.yaml"
    config.write_text(SETTINGS, encoding="utf-8")
    data_dir = tmp_path / "data"
    settings = load_settings(config, environ={}, data_dir=data_dir)
    platform = Platform.open(settings, FixedClock(T0))
    try:
        seed(platform, settlement_url="http://127.0.0.1:9001", wiki_url="http://127.0.0.1:9002")
    finally:
        platform.close()
    runner = CliRunner()
    base = ["--config", str(config), "--data-dir", str(data_dir)]
    out = tmp_path / "r.json"
    made = runner.invoke(app, [*base, "report", "--framework", "pci-dss-8", "--format", "json",
                               "--out", str(out)])  # fmt: skip
    assert made.exit_code == 0, made.output
    signed_by = json.loads(out.read_bytes())["key_id"]
    far = FixedClock(datetime(2030, 1, 2, 9, 0, tzinfo=UTC))  # after the report was made
    platform = Platform.open(settings, far)
    try:
        ring = platform.keyring(TENANT)
        ring.rotate()
        far.advance(LATER)
        assert ring.prune() == [signed_by]
    finally:
        platform.close()
    checked = runner.invoke(app, [*base, "report", "verify", str(out)])
    text = " ".join(checked.output.split())
    assert checked.exit_code == 0, text
    assert "report verified" in text
    assert "retired" in text
    doc = json.loads(out.read_bytes())
    doc["content"]["tenant_name"] = "Someone Else"
    out.write_text(json.dumps(doc), encoding="utf-8")
    tampered = runner.invoke(app, [*base, "report", "verify", str(out)])
    assert tampered.exit_code == 1
    assert "NOT verified" in tampered.output
