"""``metrics: {listen: host:port}`` in menshen.yaml: the operations listener's address."""

from __future__ import annotations

from pathlib import Path

import pytest

from menshen.errors import ConfigError
from menshen.settings import load_settings
from menshen.settings_metrics import MetricsSettings


def _load(tmp_path: Path, text: str) -> MetricsSettings | None:
    path = tmp_path / "menshen.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, environ={}).metrics


def test_absent_means_no_listener(tmp_path: Path) -> None:
    """Without ``metrics:`` there is no operations listener at all."""
    assert _load(tmp_path, "tenant: pay\n") is None


@pytest.mark.parametrize(
    ("listen", "host", "port", "loopback"),
    [
        ("127.0.0.1:9810", "127.0.0.1", 9810, True),
        ("localhost:9810", "localhost", 9810, True),
        ("[::1]:9810", "::1", 9810, True),
        ("10.0.4.7:9810", "10.0.4.7", 9810, False),
        ("0.0.0.0:9810", "0.0.0.0", 9810, False),
        ("metrics.internal:9100", "metrics.internal", 9100, False),
        ("127.0.0.1:0", "127.0.0.1", 0, True),
    ],
)
def test_a_listen_address_is_parsed(
    tmp_path: Path, listen: str, host: str, port: int, loopback: bool
) -> None:
    """host:port and [IPv6]:port give the host, the port, and whether it is loopback."""
    metrics = _load(tmp_path, f'metrics:\n  listen: "{listen}"\n')
    assert metrics == MetricsSettings(host, port)
    assert metrics.loopback is loopback


@pytest.mark.parametrize(
    "block",
    [
        'listen: "127.0.0.1"',  # no port
        'listen: "127.0.0.1:99999"',
        'listen: "127.0.0.1:http"',
        'listen: ":9810"',
        'listen: "::1:9810"',  # IPv6 without brackets
        'listen: "[not-v6]:9810"',
        'listen: "300.1.2.3:9810"',
        'listen: "bad host:9810"',
        "listen: 9810",
        'listen: "127.0.0.1:9810"\n  path: /metrics',  # unknown key
        "{}",  # listen is required
    ],
)
def test_a_bad_metrics_setting_stops_start_up(tmp_path: Path, block: str) -> None:
    """A malformed address is a configuration error naming the field."""
    with pytest.raises(ConfigError, match="metrics"):
        _load(tmp_path, f"metrics:\n  {block}\n")
