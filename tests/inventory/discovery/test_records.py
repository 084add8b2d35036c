"""The bounded tally, line reading, merging inputs, and the file edge (plain and gzip)."""

from __future__ import annotations

import gzip
import io
import ipaddress
from pathlib import Path

import pytest

from menshen.errors import ConfigError
from menshen.inventory.discovery import records
from menshen.inventory.discovery.records import Tally, bounded_lines, merged
from menshen.inventory.discovery.sources import read_flows, read_observations
from menshen.segmentation.files import load_example

ip = ipaddress.ip_address


def test_lines_are_numbered_and_an_over_long_one_is_drained() -> None:
    """CRLF is stripped; a line over the limit comes back as None and costs no memory."""
    text = "a\r\n" + "b" * 50 + "\nc"
    assert list(bounded_lines(io.StringIO(text), limit=10)) == [(1, "a"), (2, None), (3, "c")]


def test_a_tally_caps_distinct_flows_and_kept_rejections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the caps, new flows are rejected and rejections only counted."""
    monkeypatch.setattr(records, "MAX_FLOWS", 2)
    monkeypatch.setattr(records, "KEEP_REJECTED", 1)
    tally = Tally("t", "csv")
    for port in (1, 2, 3, 1):
        tally.add(port, ip("10.0.0.1"), ip("10.0.0.2"), port, "tcp")
    report = tally.report()
    assert [(o.port, o.count) for o in report.observations] == [(1, 2), (2, 1)]
    assert report.rejected_count == 1
    assert "distinct flows" in report.rejected[0].reason


def test_inputs_are_merged_with_counts_summed() -> None:
    """The same flow in two files is one flow, its counts added, its first origin kept."""
    one, two = Tally("a", "csv"), Tally("b", "csv")
    one.add(3, ip("10.0.0.1"), ip("10.0.0.2"), 443, "tcp", 5)
    two.add(7, ip("10.0.0.1"), ip("10.0.0.2"), 443, "tcp", 2)
    two.add(8, ip("10.0.0.1"), ip("10.0.0.2"), 443, "tcp", 1, refused=True)
    (first, refused) = merged([one.report(), two.report()])
    assert (first.count, str(first.origin)) == (7, "a:3")
    assert refused.refused


def test_files_are_read_plain_or_gzipped(tmp_path: Path) -> None:
    """A .gz flow log is read like a plain one."""
    text = "src,dst,port\n10.0.0.1,10.0.0.2,443\n"
    plain, packed = tmp_path / "f.csv", tmp_path / "f.csv.gz"
    plain.write_text(text, encoding="utf-8")
    with gzip.open(packed, "wt", encoding="utf-8") as handle:
        handle.write(text)
    assert read_flows(plain, "csv").observations == read_flows(packed, "csv").observations != ()


def test_unreadable_inputs_are_clear_errors(tmp_path: Path) -> None:
    """A missing file, a broken gzip stream or an unknown format name the problem."""
    with pytest.raises(ConfigError, match="cannot read"):
        read_flows(tmp_path / "missing.log", "vpc")
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(b"src,dst,port\n" * 100)[:40])
    with pytest.raises(ConfigError, match="cannot read"):
        read_flows(broken, "csv")
    with pytest.raises(ConfigError, match="unknown format"):
        read_flows(tmp_path / "x", "pcap")


def test_bytes_that_are_not_utf8_are_rejected_as_lines(tmp_path: Path) -> None:
    """Binary junk becomes rejected lines, not a decoding crash."""
    path = tmp_path / "junk.log"
    path.write_bytes(b"src,dst,port\n\xff\xfe\x00garbage\n10.0.0.1,10.0.0.2,22\n")
    report = read_observations(path, "csv", load_example().inventory)
    assert report.rejected_count == 1
    assert len(report.observations) == 1
