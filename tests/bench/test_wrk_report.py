"""The benchmark's wrk parser and target verdicts (the figures in bench/out/*.json)."""

from __future__ import annotations

import pytest
from bench.report import Figure, Target
from bench.wrk import WrkError, parse_report

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8800/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.49ms    3.10ms  85.00ms   90.00%
    Req/Sec     8.70k   400.00    9.10k    70.00%
  Latency Distribution
     50%    5.49ms
     75%    6.80ms
     90%    8.10ms
     99%   20.06ms
  86360 requests in 10.00s, 104.50MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:   8636.00
Transfer/sec:     10.45MB
"""


def test_wrk_report_is_read_with_units() -> None:
    """Requests/s, percentiles in ms, bytes and error counts come out of wrk's text."""
    result = parse_report(WRK_OUTPUT)
    assert result.requests == 86360
    assert result.requests_per_second == 8636.0
    assert result.p50_ms == 5.49
    assert result.p99_ms == 20.06
    assert result.bytes_read == int(104.5 * 1024**2)
    assert result.non_2xx_3xx == 4
    assert result.socket_errors == 3


def test_microsecond_percentiles_are_converted() -> None:
    """wrk prints fast percentiles in microseconds; they become milliseconds."""
    text = WRK_OUTPUT.replace("50%    5.49ms", "50%  460.00us")
    assert parse_report(text).p50_ms == pytest.approx(0.46)


def test_unexpected_output_is_an_error_not_a_zero() -> None:
    """A wrk failure never turns into a figure."""
    with pytest.raises(WrkError):
        parse_report("unable to connect to 127.0.0.1:8800 Connection refused\n")


def test_targets_judge_ratio_or_absolute_value() -> None:
    """Throughput is judged on the ratio to nginx, latency and memory on menshen's figure."""
    throughput = Figure(
        "rps",
        "req/s",
        8636,
        nginx=93783,
        ratio=8636 / 93783,
        target=Target(">=", 0.35),
        on_ratio=True,
    )
    memory = Figure("rss", "MB", 97.3, target=Target("<", 150))
    assert throughput.met is False
    assert memory.met is True
    assert throughput.to_json()["target"] == "ratio >= 0.35"
