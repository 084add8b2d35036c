"""The gateway bench's options: monitoring on by default, off with --no-monitoring."""

from __future__ import annotations

from pathlib import Path

from bench.gateway_server import bench_settings
from bench.options import parse_options


def test_monitoring_is_measured_by_default_and_can_be_switched_off(tmp_path: Path) -> None:
    """--no-monitoring turns off both event ingestion and the engine in the served firm."""
    assert parse_options([]).monitoring
    assert not parse_options(["--no-monitoring"]).monitoring
    on = bench_settings(tmp_path, 1.0)
    assert on.monitor_engine
    assert on.monitor.enabled
    off = bench_settings(tmp_path, 1.0, monitoring=False)
    assert not off.monitor_engine
    assert not off.monitor.enabled
