"""Host-auth state survives a restart: the snapshot codec, the store (SQLite and PostgreSQL)
and the running detection's save and load."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from menshen.app import Platform
from menshen.errors import InvalidInput
from menshen.monitor.detection import TenantDetection, load_host_auth
from menshen.monitor.hostauth.codec import KIND, META_ID, VERSION, dump_state, load_state
from menshen.monitor.hostauth.detect import HostAuthDetectors
from menshen.monitor.model import ObservedEvent
from menshen.settings import Listener, MonitorOptions, Settings, TenantOptions
from menshen.store.monitor_baselines import BaselineRecord
from menshen.store.sql import SqlTenantStore
from menshen.testing import FixedClock
from tests.monitor.hostauth.test_hostauth_detectors import logon, trained

SAVED = datetime(2026, 3, 3, tzinfo=UTC)


def probes() -> list[ObservedEvent]:
    """Events touching every signal: habits, a stranger's NTLM sweep, a user on a new source."""
    found = [logon(20_000, "u3", "ws3", "files3"), logon(20_001, "u3", "ws5", "files3")]
    found += [logon(20_010 + i, "u3", "ws-evil", f"srv-{i}", auth="NTLM") for i in range(12)]
    return found


def swept() -> HostAuthDetectors:
    """Trained detectors that also saw half a sweep (fan-out and spread windows are open)."""
    detectors = trained()
    for i in range(6):
        detectors.observe(logon(20_002 + i, "u7", "ws-evil", f"srv-{i + 20}", auth="NTLM"))
    return detectors


def judged(detectors: HostAuthDetectors) -> list[tuple[tuple[float, ...], Any]]:
    """Each probe's signals and finding evidence, judged in turn (learning as it goes)."""
    out = []
    for event in probes():
        signals = detectors.signals(event)
        finding = detectors.observe(event)
        out.append((signals, None if finding is None else finding.evidence))
    return out


def through_json(detectors: HostAuthDetectors, generation: int = 1) -> dict[str, Any]:
    return {
        part.entity_id: json.loads(json.dumps(part.document))
        for part in dump_state(detectors, generation, chunk=3)
    }


def test_a_loaded_snapshot_judges_every_event_as_the_saved_detectors_did() -> None:
    """Signals and findings after a JSON round trip are exactly the original's."""
    original = swept()
    documents = through_json(original)
    loaded = load_state(documents.get)
    assert loaded is not None
    assert judged(loaded) == judged(original)


def test_a_fresh_model_judges_differently_so_the_round_trip_test_can_fail() -> None:
    """Without the snapshot the same probes are judged otherwise."""
    assert judged(HostAuthDetectors()) != judged(swept())


def test_the_snapshot_is_chunked_and_ends_with_its_meta_row() -> None:
    """No row holds more than the chunk size; meta is written last."""
    parts = dump_state(swept(), 7, chunk=3)
    assert parts[-1].entity_id == META_ID
    assert all(part.document["g"] == 7 and part.document["v"] == VERSION for part in parts)
    assert all(len(part.document["entities"]) <= 3 for part in parts[:-1])
    with pytest.raises(InvalidInput):
        dump_state(swept(), 7, chunk=0)


def test_nothing_saved_loads_as_none() -> None:
    """An empty store gives no detectors (the caller starts fresh)."""
    empty: dict[str, dict[str, Any]] = {}
    assert load_state(empty.get) is None


def test_another_version_missing_or_stale_chunks_are_refused() -> None:
    """A snapshot that is not exactly one generation of this version is not guessed at."""
    documents = through_json(swept(), generation=1)
    other_version = {**documents, META_ID: {**documents[META_ID], "v": VERSION + 1}}
    with pytest.raises(InvalidInput):
        load_state(other_version.get)
    missing = dict(documents)
    del missing["new_user_host/0"]
    with pytest.raises(InvalidInput):
        load_state(missing.get)
    stale = {**documents, "fan_out/0": {**documents["fan_out/0"], "g": 2}}
    with pytest.raises(InvalidInput):
        load_state(stale.get)
    broken = {**documents, "source_spread/0": {"v": VERSION, "g": 1, "entities": {"x": 5}}}
    with pytest.raises(InvalidInput):
        load_state(broken.get)


def _save(tenant_store: SqlTenantStore, detectors: HostAuthDetectors, generation: int) -> None:
    tenant_store.baselines.save(
        [
            BaselineRecord("t1", KIND, part.entity_id, VERSION, part.document, SAVED)
            for part in dump_state(detectors, generation, chunk=4)
        ]
    )


def test_snapshot_in_the_store_judges_identically(tenant_store: SqlTenantStore) -> None:
    """Saved through the baselines table and loaded back, the detectors agree on every probe;
    a user baseline row beside it is untouched."""
    user_row = BaselineRecord("t1", "user", "meta", 1, {"v": 1}, SAVED)
    tenant_store.baselines.save([user_row])
    original = swept()
    _save(tenant_store, original, 1)
    loaded = load_host_auth(tenant_store.baselines, "t1")
    assert judged(loaded) == judged(original)
    kept = tenant_store.baselines.get("user", "meta")
    assert kept is not None
    assert kept.state == {"v": 1}


def test_a_smaller_later_snapshot_replaces_a_larger_one(tenant_store: SqlTenantStore) -> None:
    """Chunks left over from a bigger snapshot are not read into the newer one."""
    _save(tenant_store, swept(), 1)
    small = trained(events=20)
    _save(tenant_store, small, 2)
    loaded = load_host_auth(tenant_store.baselines, "t1")
    assert judged(loaded) == judged(trained(events=20))


def test_an_unreadable_snapshot_starts_fresh(
    tenant_store: SqlTenantStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A snapshot of another version is logged and the detectors learn afresh."""
    meta = BaselineRecord("t1", KIND, META_ID, 99, {"v": 99, "g": 1}, SAVED)
    tenant_store.baselines.save([meta])
    loaded = load_host_auth(tenant_store.baselines, "t1")
    assert judged(loaded) == judged(HostAuthDetectors())
    assert "learning afresh" in caplog.text


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=None,
        tenant="acme",
        listeners=(Listener("127.0.0.1", 0),),
        tenants={"acme": TenantOptions(monitor=MonitorOptions())},
    )


def test_the_running_detection_saves_at_stop_and_loads_at_start(tmp_path: Path) -> None:
    """Host logons seen before a restart are known after it: the final save writes the
    snapshot, the next start judges the same event as the old detectors would have."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    platform = Platform.open(_settings(tmp_path), FixedClock(start))
    try:
        before = TenantDetection(platform.settings, platform.store)
        before.open(["acme"])
        for i in range(40):
            before(replace(logon(i * 60, f"u{i % 4}", f"ws{i % 4}", "srv1"), tenant_id="acme"))
        probe = replace(logon(4_000, "u1", "ws-evil", "srv1", auth="NTLM"), tenant_id="acme")
        expected = before._tenants["acme"].hosts.signals(probe)
        assert before.save(start, final=True) > 0
        after = TenantDetection(platform.settings, platform.store)
        after.open(["acme"])
        assert after._tenants["acme"].hosts.signals(probe) == expected
        assert HostAuthDetectors().signals(probe) != expected
    finally:
        platform.close()


def test_the_snapshot_is_not_rewritten_before_it_is_due(tmp_path: Path) -> None:
    """A periodic save within the snapshot interval writes no host-auth rows."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    platform = Platform.open(_settings(tmp_path), FixedClock(start))
    try:
        detection = TenantDetection(platform.settings, platform.store)
        detection.open(["acme"])
        detection(replace(logon(0, "u1", "ws1", "srv1"), tenant_id="acme"))
        detection.save(start)
        first = platform.store.tenant("acme").baselines.get(KIND, META_ID)
        assert first is not None
        detection(replace(logon(60, "u1", "ws1", "srv2"), tenant_id="acme"))
        detection.save(start.replace(minute=1))
        again = platform.store.tenant("acme").baselines.get(KIND, META_ID)
        assert again is not None
        assert again.state["g"] == first.state["g"]
        detection(replace(logon(120, "u1", "ws1", "srv3"), tenant_id="acme"))
        detection.save(start.replace(minute=10))
        later = platform.store.tenant("acme").baselines.get(KIND, META_ID)
        assert later is not None
        assert later.state["g"] > first.state["g"]
    finally:
        platform.close()
