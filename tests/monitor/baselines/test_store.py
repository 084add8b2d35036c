"""Baselines and bad-address lists in the store (SQLite and PostgreSQL), load/save, rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.cli.main import app
from menshen.errors import InvalidInput
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.events.writer import AuditWriter
from menshen.monitor.baselines import BaselineBook, BaselineConfig
from menshen.monitor.baselines.persist import load_book, peer_groups, save_book
from menshen.monitor.baselines.rebuild import relearn
from menshen.monitor.detectors import DetectorSet
from menshen.monitor.ingest.gateway_map import map_audit_record
from menshen.monitor.model import Entity, EntityKind
from menshen.sessions.useragent import user_agent_family
from menshen.store.monitor_baselines import BaselineRecord
from menshen.store.records import GroupRecord, UserRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from menshen.testing import FixedClock
from tests.monitor.detectors.helpers import (
    CHROME,
    HINET,
    T0,
    TableGeo,
    ip,
    train,
    write_test_mmdb,
)

NOW = datetime(2026, 4, 1, tzinfo=UTC)
ALICE = Entity(EntityKind.USER, "alice")


def _record(kind: str, entity_id: str, n: int = 0) -> BaselineRecord:
    return BaselineRecord("t1", kind, entity_id, 1, {"v": 1, "n": n}, NOW)


def test_baselines_are_saved_in_batches_and_iterated_by_key(tenant_store: SqlTenantStore) -> None:
    """Upserts replace; iterate pages through every row in key order."""
    repo = tenant_store.baselines
    repo.save([_record("user", f"u{n:03d}") for n in range(25)])
    repo.save([_record("user", "u001", n=7), _record("network", "10.0.0.0/24")])
    rows = list(repo.iterate(batch=10))
    assert len(rows) == repo.count() == 26
    assert [(r.kind, r.entity_id) for r in rows] == sorted((r.kind, r.entity_id) for r in rows)
    got = repo.get("user", "u001")
    assert got is not None
    assert got.state == {"v": 1, "n": 7}
    assert repo.clear() == 26
    assert repo.count() == 0


def test_baselines_of_another_tenant_are_invisible(store: SqlStore) -> None:
    """Rows are scoped by tenant; a record of another tenant is refused."""
    from menshen.store.records import TenantRecord

    for tenant in ("t1", "t2"):
        store.add_tenant(TenantRecord(id=tenant, name=tenant, created_at=NOW))
    store.tenant("t1").baselines.save([_record("user", "alice")])
    assert store.tenant("t2").baselines.count() == 0
    with pytest.raises(InvalidInput):
        store.tenant("t2").baselines.save([_record("user", "alice")])


def test_bad_network_lists_are_replaced_whole(tenant_store: SqlTenantStore) -> None:
    """A re-import drops prefixes that left the feed; lists are counted and deletable."""
    repo = tenant_store.bad_networks
    assert repo.replace("tor", [("192.0.2.0/24", "exit"), ("198.51.100.0/24", "")], NOW) == 2
    assert repo.replace("tor", [("192.0.2.0/24", "exit")], NOW) == 1
    repo.replace("intel", [("2001:db8::/32", "apt")], NOW)
    assert repo.lists() == {"intel": 1, "tor": 1}
    assert [r.cidr for r in repo.list("tor")] == ["192.0.2.0/24"]
    assert repo.delete_list("tor") == 1
    assert repo.lists() == {"intel": 1}


def test_a_book_saved_and_loaded_gives_the_same_verdicts(tenant_store: SqlTenantStore) -> None:
    """Profiles persist across a restart: maturity and known networks survive."""
    detectors = DetectorSet([], BaselineBook(BaselineConfig()), geo=TableGeo())
    end = train(detectors)
    saved = save_book(detectors.book, tenant_store.baselines, NOW, tenant_id="t1", batch=2)
    assert saved == 4  # user, device, network, and the firm row
    assert save_book(detectors.book, tenant_store.baselines, NOW, tenant_id="t1") == 1
    book, report = load_book(tenant_store.baselines, BaselineConfig())
    assert (report.loaded, report.skipped) == (4, 0)
    assert book.mature(ALICE, end.timestamp())
    profile = book.profile(ALICE)
    assert profile is not None
    assert "1.160.10.0/24" in profile.networks


def test_rows_of_an_unknown_version_are_skipped_not_fatal(tenant_store: SqlTenantStore) -> None:
    """A stale document is counted and skipped; the rest loads."""
    tenant_store.baselines.save([_record("user", "old"), _record("martian", "x")])
    book, report = load_book(tenant_store.baselines, BaselineConfig())
    assert (report.loaded, report.skipped, len(book)) == (0, 2, 0)


def _audit(tenant: SqlTenantStore, clock: FixedClock) -> None:
    writer = AuditWriter(_StoreOf(tenant), EventBus(), clock)
    events = []
    for day in range(10):
        at = T0 + timedelta(days=day)
        events.append(
            AuditEvent(
                tenant_id="t1", kind=Kind.LOGIN_SUCCESS, outcome=Outcome.SUCCESS, at=at,
                actor="u-alice", subject="alice", ip=ip("taipei_home"), session_id=f"s{day}",
                details={"user_agent": CHROME},
            )
        )  # fmt: skip
        events.append(
            AuditEvent(
                tenant_id="t1", kind=Kind.ACCESS_ALLOW, outcome=Outcome.ALLOW,
                at=at + timedelta(minutes=5), actor="u-alice", app="wiki", ip=ip("taipei_home"),
                session_id=f"s{day}", details={"path": "/pages/a", "user_agent": CHROME},
            )
        )  # fmt: skip
    events.append(
        AuditEvent(
            tenant_id="t1", kind=Kind.ADMIN_CHANGE, outcome=Outcome.SUCCESS, at=T0, actor="cli",
        )
    )  # fmt: skip
    writer.write_now(events)


class _StoreOf:
    """The one-tenant ``Store`` face an AuditWriter needs."""

    def __init__(self, tenant: SqlTenantStore) -> None:
        self._tenant = tenant

    def tenant(self, tenant_id: str) -> SqlTenantStore:
        assert tenant_id == self._tenant.tenant_id
        return self._tenant


def test_relearning_from_the_audit_log_rebuilds_the_profiles(tenant_store: SqlTenantStore) -> None:
    """Ten days of logins and requests teach alice's profile; admin changes are skipped."""
    _audit(tenant_store, FixedClock(T0))
    tenant_store.users.add(
        UserRecord("t1", "u-alice", "alice", "a@example.com", "Alice", None, False, NOW, NOW)
    )
    tenant_store.groups.add(GroupRecord("t1", "g1", "finance", "", False))
    tenant_store.groups.add_member("g1", "u-alice")
    book = BaselineBook(BaselineConfig())
    seen: list[int] = []
    report = relearn(
        book,
        tenant_store.audit.iterate(),
        map_audit_record,
        agent_family=user_agent_family,
        peer_group=peer_groups(tenant_store),
        progress=seen.append,
        every=5,
    )
    assert (report.rows, report.learnt) == (21, 20)
    assert seen[-1] == 21
    profile = book.profile(Entity(EntityKind.USER, "u-alice"))
    assert profile is not None
    assert profile.signins == 10
    assert "wiki:/pages/a" in profile.paths
    assert book.peer_share("finance", "wiki:/pages/a") == pytest.approx(1.0)


def test_cli_rebuild_and_badips_import(tmp_path: Path) -> None:
    """`menshen monitor rebuild` re-learns with a progress bar; `badips import` stores a list."""
    runner = CliRunner()
    data = tmp_path / "data"

    def menshen(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--data-dir", str(data), "--tenant", "t1", *args])
        return result.exit_code, result.output

    code, out = menshen("monitor", "badips", "list")
    assert code == 0, out
    store = SqlStore.open(None, data)
    try:
        _audit(store.tenant("t1"), FixedClock(T0))
    finally:
        store.close()
    code, out = menshen("monitor", "rebuild")
    assert code == 0, out
    assert "re-learnt 2 baseline(s) from 20 of 21 audit event(s)" in out
    feed = tmp_path / "tor-exits.txt"
    feed.write_text("# exits\n192.0.2.0/24\n198.51.100.7 # one host\n", encoding="utf-8")
    code, out = menshen("monitor", "badips", "import", str(feed))
    assert code == 0, out
    assert "tor-exits" in out
    code, out = menshen("monitor", "badips", "list")
    assert "tor-exits" in out
    feed.write_text("garbage\n", encoding="utf-8")
    code, out = menshen("monitor", "badips", "import", str(feed), "--name", "x")
    assert code == 2
    assert "not an address" in out
    code, out = menshen("monitor", "badips", "remove", "tor-exits")
    assert code == 0, out
    code, out = menshen("audit", "export")
    assert "monitor.rebuild" in out
    assert "monitor.badips.import" in out


def test_cli_rebuild_places_addresses_with_the_tenants_geoip_databases(tmp_path: Path) -> None:
    """Without flags, `monitor rebuild` uses the tenant's geoip_city: countries and ASNs return."""
    data = tmp_path / "data"
    (tmp_path / "geo").mkdir()
    write_test_mmdb(tmp_path / "geo" / "City.mmdb")
    config = tmp_path / "menshen.yaml"
    config.write_text(
        "tenants:\n  t1:\n    monitor:\n      geoip_city: geo/City.mmdb\n", encoding="utf-8"
    )
    runner = CliRunner()
    base = ["--config", str(config), "--data-dir", str(data), "--tenant", "t1"]
    result = runner.invoke(app, [*base, "monitor", "badips", "list"])
    assert result.exit_code == 0, result.output
    store = SqlStore.open(None, data)
    try:
        _audit(store.tenant("t1"), FixedClock(T0))
    finally:
        store.close()
    result = runner.invoke(app, [*base, "monitor", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "City.mmdb" in result.output  # the rebuild names the database it used
    store = SqlStore.open(None, data)
    try:
        book, _ = load_book(store.tenant("t1").baselines, BaselineConfig())
    finally:
        store.close()
    profile = book.profile(Entity(EntityKind.USER, "u-alice"))
    assert profile is not None
    assert "TW" in profile.countries
    assert str(HINET) in profile.asns
    assert profile.last_place is not None
    assert profile.last_place.country == "TW"


def test_a_tenants_detector_set_opens_over_its_saved_state(tenant_store: SqlTenantStore) -> None:
    """Saved baselines, imported lists and peer groups are all in the opened set."""
    from menshen.monitor.detectors.service import open_detector_set
    from tests.monitor.detectors.helpers import event

    learner = DetectorSet([], BaselineBook(BaselineConfig()), geo=TableGeo())
    end = train(learner)
    save_book(learner.book, tenant_store.baselines, NOW, tenant_id="t1")
    tenant_store.bad_networks.replace("botnet", [("102.89.1.0/24", "")], NOW)
    detectors = open_detector_set(tenant_store, time_zone="Asia/Taipei", geo=TableGeo())
    assert detectors.book.mature(ALICE, end.timestamp())
    found = detectors.process(event(end, src_ip=ip("lagos")))
    assert "known_bad_ip" in [f.detector for f in found]
