"""``menshen monitor actions list``, ``menshen monitor undo`` and ``menshen incident``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.app import Platform
from menshen.cli.main import app
from menshen.clock import SystemClock
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.model import Entity, EntityKind
from menshen.settings import load_settings
from menshen.store.monitor_response import ResponseActionRecord

from .findings import finding

runner = CliRunner()


def menshen(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), "--tenant", "acme", *args])
    return result.exit_code, result.output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Alice suspended by a playbook, and the incident it belongs to."""
    data_dir = tmp_path / "data"
    platform = Platform.open(load_settings(None, tenant="acme", data_dir=data_dir), SystemClock())
    try:
        user = platform.identity("acme").create_user(
            "alice", "alice@acme.example", "Alice", "correct horse battery"
        )
        platform.identity("acme").disable_user(user.id)
        now = platform.clock.now()
        platform.store.tenant("acme").response_actions.add(
            ResponseActionRecord(
                "acme", "a1", "k1", "exfil", "suspend", f"user:{user.id}", f"user:{user.id}",
                "done", "exfil: big download", now, "i1",
            )
        )  # fmt: skip
        seen = finding(tenant_id="acme", subject=Entity(EntityKind.USER, user.id), at=now)
        book = IncidentBook(platform.store, lambda t: timedelta(hours=1), new_id=lambda: "i1")
        book.record(seen, first_event_at=now - timedelta(minutes=2), detected_at=now)
        book.responded("acme", "i1", now + timedelta(seconds=3))
    finally:
        platform.close()
    return data_dir


def test_an_admin_lists_and_undoes_a_suspension(data_dir: Path) -> None:
    """The action is listed; undo enables Alice again and cannot be repeated."""
    code, out = menshen(data_dir, "monitor", "actions", "list")
    assert code == 0, out
    assert "suspend" in out
    assert "done" in out
    code, out = menshen(data_dir, "monitor", "undo", "a1")
    assert code == 0, out
    platform = Platform.open(load_settings(None, tenant="acme", data_dir=data_dir), SystemClock())
    try:
        alice = platform.store.tenant("acme").users.by_username("alice")
    finally:
        platform.close()
    assert alice is not None
    assert alice.disabled is False
    code, out = menshen(data_dir, "monitor", "undo", "a1")
    assert code == 2
    assert "nothing to undo" in out


def test_an_admin_works_an_incident_to_closed(data_dir: Path) -> None:
    """List, acknowledge, assign, note and close; show prints the whole timeline."""
    code, out = menshen(data_dir, "incident", "list")
    assert code == 0, out
    assert "i1" in out
    for args in (("ack", "i1"), ("assign", "i1", "ben"), ("note", "i1", "called Alice")):
        code, out = menshen(data_dir, "incident", *args)
        assert code == 0, out
    code, out = menshen(data_dir, "incident", "close", "i1")
    assert code == 0, out
    for step in ("first event", "detected", "responded", "acknowledged", "closed"):
        assert step in out
    assert "time to detect 2m00s" in out
    assert "time to respond 0m03s" in out
    assert "called Alice" in out
    code, out = menshen(data_dir, "incident", "summary")
    assert code == 0, out
    assert "2m00s" in out
    code, out = menshen(data_dir, "incident", "show", "nope")
    assert code == 2
