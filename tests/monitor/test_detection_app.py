"""The running gateway's detection: real detectors on gateway events, baselines across
restarts, host-authentication routing, Sigma rule files checked at start."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from menshen.app import Platform, Server
from menshen.errors import ConfigError
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.monitor.detection import TenantDetection, load_rule_files
from menshen.monitor.model import (
    Category,
    Entity,
    EntityKind,
    EventOutcome,
    Finding,
    ObservedEvent,
    Severity,
)
from menshen.settings import (
    IngestSettings,
    Listener,
    MonitorOptions,
    Settings,
    TenantOptions,
    load_settings,
)
from menshen.testing import FixedClock

TENANT = "acme"
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
RULE = """\
title: Settlement admin from outside
id: settlement-outside
level: high
logsource: {category: access}
detection:
  selection: {app: settlement}
  condition: selection
"""


def _settings(tmp_path: Path, monitor: MonitorOptions | None = None) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=None,
        tenant=TENANT,
        listeners=(Listener("127.0.0.1", 0),),
        state_refresh_seconds=0.1,
        tenants={TENANT: TenantOptions(monitor=monitor or MonitorOptions())},
        monitor=replace(IngestSettings(), reconcile_seconds=0.1),
    )


def _failure(at: datetime, n: int) -> AuditEvent:
    return AuditEvent(
        TENANT,
        Kind.LOGIN_FAILURE,
        Outcome.FAILURE,
        at,
        subject="dana",
        ip="203.0.113.9",
        reason="bad_password",
        id=f"fail-{n}",
    )


async def _until(check: object, what: str) -> None:
    for _ in range(300):  # bounded: 300 tries, 20 ms apart
        if callable(check) and check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(what)


def test_the_apps_engine_raises_a_real_finding_on_gateway_events(tmp_path: Path) -> None:
    """Eight failed sign-ins published by the gateway reach the built-in brute-force
    detector through the pipeline; the finding is audited and scored."""
    clock = FixedClock(START)
    platform = Platform.open(_settings(tmp_path), clock)

    async def go() -> None:
        server = Server(platform)
        assert server.monitor is not None
        assert server.detection is not None
        await server.start()
        try:
            for n in range(8):
                server.bus.publish(_failure(clock.now(), n))
                clock.advance(5)
            await _until(lambda: server.monitor is not None and server.monitor.findings, "none")
            await server.monitor.drain()
        finally:
            await server.stop()

    try:
        asyncio.run(go())
        found = [
            r for r in platform.store.tenant(TENANT).audit.iterate() if r.kind == "monitor.finding"
        ]
        assert [r.details["detector"] for r in found] == ["brute_force"]
        assert found[0].subject == "user:dana"
    finally:
        platform.close()


def test_baselines_are_saved_at_stop_and_loaded_at_the_next_start(tmp_path: Path) -> None:
    """What the detectors learnt survives a restart of the gateway."""
    clock = FixedClock(START)
    platform = Platform.open(_settings(tmp_path), clock)
    event = ObservedEvent(
        TENANT,
        START,
        "test",
        "e1",
        Category.AUTHENTICATION,
        "login",
        EventOutcome.SUCCESS,
        user="u-dana",
        src_ip="192.0.2.10",
    )

    async def first() -> None:
        server = Server(platform)
        await server.start()
        assert server.monitor is not None
        assert server.detection is not None
        await asyncio.to_thread(server.monitor.accept, [event])
        await server.stop()
        assert server.detection.saved >= 1

    async def second() -> int:
        server = Server(platform)
        await server.start()
        try:
            assert server.detection is not None
            book = server.detection.detector_set(TENANT).book
            return len(book)
        finally:
            await server.stop()

    try:
        asyncio.run(first())
        assert platform.store.tenant(TENANT).baselines.iterate()
        assert asyncio.run(second()) >= 1
    finally:
        platform.close()


class _Hosts:
    """Stands in for the host-auth detectors: records what it was given."""

    def __init__(self) -> None:
        self.seen: list[ObservedEvent] = []

    def observe(self, event: ObservedEvent) -> Finding | None:
        self.seen.append(event)
        return Finding(
            tenant_id=event.tenant_id,
            detector="host_authentication",
            subject=Entity(EntityKind.USER, event.user or "?"),
            at=event.at,
            severity=Severity.MEDIUM,
            confidence=0.5,
            summary="test",
        )


def test_only_events_naming_a_host_go_to_the_host_authentication_detectors(
    tmp_path: Path,
) -> None:
    """A Windows logon (source and destination computers) is judged by both detector
    families; a gateway sign-in only by the detector set."""
    platform = Platform.open(_settings(tmp_path), FixedClock(START))
    try:
        detection = TenantDetection(platform.settings, platform.store)
        detection.open([TENANT])
        hosts = _Hosts()
        detection._tenants[TENANT].hosts = hosts  # type: ignore[assignment]
        web = ObservedEvent(
            TENANT, START, "gateway", "g1", Category.AUTHENTICATION, "login", user="dana"
        )
        logon = replace(web, event_id="w1", source="windows", src_host="C17", dst_host="C42")
        assert detection(web) == ()
        found: Sequence[Finding] = detection(logon)
        assert [f.detector for f in found] == ["host_authentication"]
        assert hosts.seen == [logon]
    finally:
        platform.close()


def test_a_bad_sigma_rule_file_stops_start_up_naming_file_and_rule(tmp_path: Path) -> None:
    """A rule using an unsupported feature is a ConfigError with the file and the rule id."""
    good = tmp_path / "good.yml"
    good.write_text(RULE, encoding="utf-8")
    bad = tmp_path / "bad.yml"
    bad.write_text(RULE.replace("app: settlement", "app|base64: settlement"), encoding="utf-8")
    assert [r.title for r in load_rule_files([good])] == ["Settlement admin from outside"]
    platform = Platform.open(
        _settings(tmp_path, MonitorOptions(rules=(good, bad))), FixedClock(START)
    )

    async def go() -> None:
        server = Server(platform)
        try:
            await server.start()
        finally:
            await server.stop()

    try:
        with pytest.raises(ConfigError) as raised:
            asyncio.run(go())
        assert str(bad) in str(raised.value)
        assert "settlement-outside" in str(raised.value)
        assert "base64" in str(raised.value)
    finally:
        platform.close()


def test_firm_rules_run_on_the_tenants_events(tmp_path: Path) -> None:
    """A firm rule loaded from a file raises its finding on a matching access event."""
    path = tmp_path / "rules"
    path.mkdir()
    (path / "settlement.yaml").write_text(RULE, encoding="utf-8")
    platform = Platform.open(_settings(tmp_path, MonitorOptions(rules=(path,))), FixedClock(START))
    try:
        detection = TenantDetection(platform.settings, platform.store)
        detection.open([TENANT])
        event = ObservedEvent(
            TENANT, START, "gateway", "a1", Category.ACCESS, "allow", user="dana", app="settlement"
        )
        assert [f.detector for f in detection(event)] == ["sigma:settlement-outside"]
    finally:
        platform.close()


def test_monitor_detection_settings_are_read_and_checked(tmp_path: Path) -> None:
    """Geo-IP paths resolve beside menshen.yaml; AS numbers and shared sources are checked."""
    config = tmp_path / "menshen.yaml"
    config.write_text(
        "tenants:\n  acme:\n    monitor:\n      geoip_city: geo/City.mmdb\n"
        "      vpn_asns: [9009, 60068]\n      shared_sources: ['192.0.2.1', '2001:db8::1']\n"
        "      rules: [rules/]\n",
        encoding="utf-8",
    )
    monitor = load_settings(config, environ={}).options("acme").monitor
    assert monitor.geoip_city == tmp_path / "geo" / "City.mmdb"
    assert monitor.vpn_asns == frozenset({9009, 60068})
    assert monitor.shared_sources == frozenset({"192.0.2.1", "2001:db8::1"})
    assert monitor.rules == (tmp_path / "rules",)
    config.write_text(
        "tenants:\n  acme:\n    monitor:\n      shared_sources: [gateway.firm]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="shared_sources"):
        load_settings(config, environ={})
    config.write_text("tenants:\n  acme:\n    monitor:\n      geoip_asn: a.mmdb\n")
    with pytest.raises(ConfigError, match="geoip_city"):
        load_settings(config, environ={})


def test_a_missing_geoip_database_stops_start_up(tmp_path: Path) -> None:
    """A configured MaxMind file that cannot be read is a ConfigError, not a silent gap."""
    monitor = MonitorOptions(geoip_city=tmp_path / "missing.mmdb")
    platform = Platform.open(_settings(tmp_path, monitor), FixedClock(START))
    try:
        with pytest.raises(ConfigError, match=r"missing\.mmdb"):
            TenantDetection(platform.settings, platform.store).open([TENANT])
    finally:
        platform.close()


def test_nothing_is_written_when_nothing_was_learnt(tmp_path: Path) -> None:
    """A periodic save with no new events writes no rows."""
    platform = Platform.open(_settings(tmp_path), FixedClock(START))
    try:
        detection = TenantDetection(platform.settings, platform.store)
        detection.open([TENANT])
        assert detection.save(START) == 0
        detection(
            ObservedEvent(TENANT, START, "t", "e", Category.ACCESS, "allow", user="dana", app="x")
        )
        assert detection.save(START + timedelta(seconds=60)) >= 1
        assert detection.save(START + timedelta(seconds=120)) == 0
    finally:
        platform.close()


class _FlakyBaselines:
    """A baseline repository whose first save fails (the database was away)."""

    def __init__(self) -> None:
        self.calls = 0
        self.rows: list[object] = []

    def save(self, rows: Sequence[object]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise OSError("database away")
        self.rows += rows


class _FlakyStore:
    def __init__(self, baselines: _FlakyBaselines) -> None:
        self.baselines = baselines

    def tenant(self, tenant_id: str) -> _FlakyStore:
        return self


def test_a_failed_save_is_tried_again_with_the_same_rows(tmp_path: Path) -> None:
    """Profiles a failed save could not write are written by the next one, not lost."""
    platform = Platform.open(_settings(tmp_path), FixedClock(START))
    try:
        detection = TenantDetection(platform.settings, platform.store)
        detection.open([TENANT])
        detection(
            ObservedEvent(TENANT, START, "t", "e", Category.ACCESS, "allow", user="dana", app="x")
        )
        flaky = _FlakyBaselines()
        detection._store = _FlakyStore(flaky)  # type: ignore[assignment]
        with pytest.raises(OSError, match="away"):
            detection.save(START)
        assert detection.save(START) >= 1
        assert any(getattr(row, "entity_id", None) == "dana" for row in flaky.rows)
    finally:
        platform.close()
