"""``menshen monitor source|quarantine``, the ``monitor:`` settings and the transfer reporter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.app import Platform
from menshen.cli.main import app
from menshen.clock import SystemClock
from menshen.errors import ConfigError
from menshen.events.model import AuditEvent
from menshen.monitor.ingest.http_endpoint import hash_token
from menshen.monitor.ingest.transfer import TransferReporter
from menshen.settings import load_settings
from menshen.store.monitor_ingest import QuarantineRecord
from menshen.store.records import SessionRecord
from menshen.testing import FixedClock

runner = CliRunner()
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def menshen(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), "--tenant", "acme", *args])
    return result.exit_code, result.output


def test_source_add_prints_the_token_once_and_stores_its_hash(tmp_path: Path) -> None:
    """The printed token is the one whose hash is stored; list shows no token; remove works."""
    data = tmp_path / "data"
    code, out = menshen(data, "monitor", "source", "add", "vpn", "--format", "ocsf")
    assert code == 0, out
    token = next(line for line in out.splitlines() if line.startswith("msrc_"))
    platform = Platform.open(load_settings(None, tenant="acme", data_dir=data), SystemClock())
    try:
        found = platform.store.tenant("acme").monitor_sources.by_token_hash(hash_token(token))
        assert found is not None
        assert (found.name, found.format) == ("vpn", "ocsf")
    finally:
        platform.close()
    code, out = menshen(data, "monitor", "source", "list")
    assert code == 0
    assert "vpn" in out
    assert token not in out
    assert menshen(data, "monitor", "source", "add", "vpn")[0] == 2
    assert menshen(data, "monitor", "source", "remove", "vpn")[0] == 0
    assert menshen(data, "monitor", "source", "remove", "vpn")[0] == 2


@pytest.mark.parametrize("args", [["Bad Name"], ["gateway"], ["ok", "--format", "xml"]])
def test_source_add_refuses_bad_names_and_formats(tmp_path: Path, args: list[str]) -> None:
    """Names are short lower-case words (not 'gateway'); formats are the known mappers."""
    code, _ = menshen(tmp_path / "data", "monitor", "source", "add", *args)
    assert code == 2


def test_quarantine_lists_reasons(tmp_path: Path) -> None:
    """Quarantined input is listed with its source and reason, filterable by source."""
    data = tmp_path / "data"
    platform = Platform.open(load_settings(None, tenant="acme", data_dir=data), SystemClock())
    try:
        platform.store.tenant("acme").monitor_quarantine.add_many(
            [
                QuarantineRecord("acme", "q1", "vpn", NOW, "bad_json", "Expecting value", "{"),
                QuarantineRecord("acme", "q2", "syslog", NOW, "bad_framing", "", "xx"),
            ]
        )
    finally:
        platform.close()
    code, out = menshen(data, "monitor", "quarantine", "--source", "vpn")
    assert code == 0
    assert "bad_json" in out
    assert "bad_framing" not in out


def test_monitor_settings_parse_and_bad_values_name_the_field(tmp_path: Path) -> None:
    """The monitor: section is read; a bad value is a ConfigError naming it."""
    path = tmp_path / "menshen.yaml"
    path.write_text(
        "monitor:\n  queue: 500\n  syslog: {port: 5514}\n"
        "  tail:\n    - {path: /var/log/auth.log, format: linux-auth, source: auth}\n"
        "    - {path: lanl, format: lanl, epoch: '2026-01-01T00:00:00Z'}\n"
    )
    settings = load_settings(path, {})
    assert settings.monitor.queue == 500
    assert settings.monitor.syslog is not None
    assert settings.monitor.syslog.port == 5514
    assert settings.monitor.syslog.tenant == "default"
    assert [t.format for t in settings.monitor.tail] == ["linux-auth", "lanl"]
    assert settings.monitor.tail[1].path == tmp_path / "lanl"
    for bad, field in (
        ("monitor:\n  rate_per_second: 0\n", "monitor.rate_per_second"),
        ("monitor:\n  tail: [{path: x, format: csv}]\n", "monitor.tail.0.format"),
        ("monitor:\n  syslog: {tls_cert: a.pem}\n", "monitor.syslog"),
        ("monitor:\n  tail: [{path: x, format: lanl, epoch: '2026-01-01T00:00:00'}]\n", "tail"),
    ):
        path.write_text(bad)
        with pytest.raises(ConfigError, match=field):
            load_settings(path, {})


def _session(session_id: str) -> SessionRecord:
    return SessionRecord(
        "acme", session_id, "h", "u-dana", NOW, NOW, NOW, 3600, "Chrome", "127.0.0.1",
        "password", "password", NOW,
    )  # fmt: skip


def test_transfer_reporter_publishes_one_event_per_active_session() -> None:
    """Each session with bytes gets one session.transfer event; an ended session is looked
    up in the store; bytes of a session found nowhere are counted as unattributed."""
    published: list[AuditEvent] = []
    counters = {"s1": 1000, "ended": 70, "gone": 5}
    reporter = TransferReporter(
        lambda: dict(counters),
        lambda sid: _session(sid) if sid == "s1" else None,
        published.append,
        FixedClock(NOW),
        find_ended=lambda sid: _session(sid) if sid == "ended" else None,
    )
    assert asyncio.run(reporter.flush()) == 2
    sent = {event.session_id: event.details["bytes_out"] for event in published}
    assert sent == {"s1": 1000, "ended": 70}
    event = published[0]
    assert (event.kind, event.actor, event.session_id) == ("session.transfer", "u-dana", "s1")
    assert reporter.unattributed == 5
