"""The syslog listener on loopback and the file tailer: records in, bad input counted."""

from __future__ import annotations

import asyncio
import os
import ssl
from datetime import UTC, datetime
from pathlib import Path

from menshen.gateway.tls import generate_self_signed, server_context
from menshen.monitor.ingest.limits import IngestLimits
from menshen.monitor.ingest.mappers.linux_auth import map_linux_auth
from menshen.monitor.ingest.pipeline import Pipeline
from menshen.monitor.ingest.sink import CollectingSink
from menshen.monitor.ingest.syslog_server import SyslogListener
from menshen.monitor.ingest.tailer import FileTailer
from menshen.testing import FixedClock

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KEY = ("t1", "syslog")
MSG = (
    "<38>1 2026-11-25T10:00:0{n}Z bastion sshd 77 - - "
    "Failed password for root from 198.51.100.{n} port 22 ssh2"
)


def _framed(n: int) -> bytes:
    message = MSG.format(n=n).encode()
    return str(len(message)).encode() + b" " + message


async def _serve(pipeline: Pipeline, payloads: list[bytes]) -> None:
    listener = SyslogListener(pipeline, KEY)
    await listener.start("127.0.0.1", 0)
    try:
        for payload in payloads:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(payload)
            await writer.drain()
            writer.write_eof()
            await asyncio.wait_for(reader.read(), 5)  # the server closes when done
            writer.close()
    finally:
        await listener.stop()


def test_syslog_octet_counted_records_arrive() -> None:
    """Three RFC 6587 octet-counted RFC 5424 records over TCP become three events."""
    sink = CollectingSink()
    pipeline = Pipeline(sink, FixedClock(NOW))
    asyncio.run(_serve(pipeline, [b"".join(_framed(n) for n in range(3))]))
    pipeline.drain_once()
    assert [e.src_ip for e in sink.events] == ["198.51.100.0", "198.51.100.1", "198.51.100.2"]
    assert all(e.source == "syslog" and e.user == "root" for e in sink.events)


def test_syslog_bad_framing_is_quarantined_and_the_connection_closed() -> None:
    """Records before the bad frame are kept; the bad frame is counted; the sender is cut off."""
    sink = CollectingSink()
    pipeline = Pipeline(sink, FixedClock(NOW))
    asyncio.run(_serve(pipeline, [_framed(1) + b"GARBAGE " + _framed(2), _framed(3)]))
    pipeline.drain_once()
    assert [e.src_ip for e in sink.events] == ["198.51.100.1", "198.51.100.3"]
    assert pipeline.metrics[KEY].rejected["bad_framing"] == 1


def test_syslog_waits_while_the_source_is_over_its_rate() -> None:
    """Over the rate the listener stops reading, then takes every record: none is lost."""
    sink = CollectingSink()
    clock = FixedClock(NOW)
    pipeline = Pipeline(sink, clock, IngestLimits(rate=1000.0, burst=1))

    async def scenario() -> None:
        async def tick() -> None:
            # Bounded: first wait until the listener has been held back, then move the
            # clock so the bucket refills (whatever the machine's speed, in that order).
            for _ in range(500):
                if pipeline.metrics.get(KEY) is not None and pipeline.metrics[KEY].throttled:
                    break
                await asyncio.sleep(0.01)
            for _ in range(200):
                await asyncio.sleep(0.01)
                clock.advance(0.01)

        ticker = asyncio.create_task(tick())
        await _serve(pipeline, [b"".join(_framed(n) for n in range(5)), _framed(5)])
        ticker.cancel()

    asyncio.run(scenario())
    while pipeline.drain_once():
        pass
    assert len(sink.events) == 6
    assert pipeline.metrics[KEY].throttled > 0


LINE = "Nov 25 10:00:0{n} bastion sshd[1]: Accepted password for u{n} from 10.0.0.{n} port 2 ssh2\n"


def _tail(tmp: Path, path: Path, sink: CollectingSink) -> tuple[FileTailer, Pipeline]:
    pipeline = Pipeline(sink, FixedClock(NOW), IngestLimits(max_line=256))
    tailer = FileTailer(pipeline, ("t1", "file"), path, map_linux_auth, tmp / "state.json")
    return tailer, pipeline


def test_tailer_follows_growth_rotation_and_resumes_after_restart(tmp_path: Path) -> None:
    """Lines appended are read once; a rotated file's tail is read; a restart resumes."""
    log = tmp_path / "auth.log"
    log.write_text(LINE.format(n=1) + LINE.format(n=2)[:20])  # the second line not finished
    sink = CollectingSink()
    tailer, pipeline = _tail(tmp_path, log, sink)
    asyncio.run(tailer.poll())
    with log.open("a") as handle:
        handle.write(LINE.format(n=2)[20:] + LINE.format(n=3))
    asyncio.run(tailer.poll())
    os.rename(log, tmp_path / "auth.log.1")
    with (tmp_path / "auth.log.1").open("a") as handle:
        handle.write(LINE.format(n=4))
    log.write_text(LINE.format(n=5))
    asyncio.run(tailer.poll())
    pipeline.drain_once()
    assert [e.user for e in sink.events] == ["u1", "u2", "u3", "u4", "u5"]
    # A new tailer (a restart) with the same state file reads only what is new.
    with log.open("a") as handle:
        handle.write(LINE.format(n=6))
    sink2 = CollectingSink()
    tailer2, pipeline2 = _tail(tmp_path, log, sink2)
    asyncio.run(tailer2.poll())
    tailer.close()
    tailer2.close()
    pipeline2.drain_once()
    assert [e.user for e in sink2.events] == ["u6"]


def test_tailer_reads_a_directory_and_skips_overlong_lines(tmp_path: Path) -> None:
    """Every file of a directory is followed; a line over the cap is quarantined."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text(
        LINE.format(n=1) + "y" * 5000 + "\n" + LINE.format(n=2)
    )
    (tmp_path / "logs" / "b.log").write_text(LINE.format(n=3))
    sink = CollectingSink()
    tailer, pipeline = _tail(tmp_path, tmp_path / "logs", sink)
    asyncio.run(tailer.poll())
    tailer.close()
    pipeline.drain_once()
    assert sorted(e.user or "" for e in sink.events) == ["u1", "u2", "u3"]
    assert pipeline.metrics[("t1", "file")].rejected["line_too_long"] == 1


def test_tailer_rereads_a_file_truncated_in_place(tmp_path: Path) -> None:
    """copytruncate: a file that shrank is read again from the start."""
    log = tmp_path / "auth.log"
    log.write_text(LINE.format(n=1) + LINE.format(n=2))
    sink = CollectingSink()
    tailer, pipeline = _tail(tmp_path, log, sink)
    asyncio.run(tailer.poll())
    log.write_text(LINE.format(n=3))
    asyncio.run(tailer.poll())
    tailer.close()
    pipeline.drain_once()
    assert [e.user for e in sink.events] == ["u1", "u2", "u3"]


def test_syslog_over_tls_rfc5425(tmp_path: Path) -> None:
    """With a certificate the listener speaks TLS; octet-counted records arrive."""
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    generate_self_signed(cert, key, ["localhost"])
    sink = CollectingSink()
    pipeline = Pipeline(sink, FixedClock(NOW))

    async def scenario() -> None:
        listener = SyslogListener(pipeline, KEY, tls=server_context(cert, key))
        await listener.start("127.0.0.1", 0)
        client = ssl.create_default_context(cafile=str(cert))
        client.check_hostname = False
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", listener.port, ssl=client)
            writer.write(_framed(4) + _framed(5))
            await writer.drain()
            for _ in range(200):  # bounded: wait for both records
                if pipeline.pending >= 2:
                    break
                await asyncio.sleep(0.01)
            writer.close()
        finally:
            await listener.stop()

    asyncio.run(scenario())
    pipeline.drain_once()
    assert [e.src_ip for e in sink.events] == ["198.51.100.4", "198.51.100.5"]
