"""Record framing: LF lines with a length cap and RFC 6587 syslog framing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from menshen.monitor.ingest.framing import LineSplitter, SyslogFramer


def test_lines_split_across_chunks() -> None:
    """A line cut across two reads comes out whole; CRLF loses its CR; blank lines vanish."""
    splitter = LineSplitter(100)
    assert [f.data for f in splitter.feed(b"one\r\ntw")] == [b"one"]
    assert [f.data for f in splitter.feed(b"o\n\nthree")] == [b"two"]
    assert [f.data for f in splitter.finish()] == [b"three"]


def test_ten_megabyte_line_is_refused_without_being_held() -> None:
    """A 10 MB line fed in 64 KiB reads is reported once and never buffered past the cap."""
    splitter = LineSplitter(64 * 1024)
    chunk = b"x" * (64 * 1024)
    frames = []
    for _ in range(160):  # 10 MiB
        frames += splitter.feed(chunk)
        assert splitter.buffered <= 64 * 1024
    frames += splitter.feed(b"tail\nnext\n")
    assert [f.error for f in frames] == ["line_too_long", None]
    assert frames[1].data == b"next"
    assert len(frames[0].data) <= 256


def test_octet_counted_and_lf_framed_messages() -> None:
    """RFC 6587 §3.4.1 octet counting and §3.4.2 LF framing on one stream."""
    framer = SyslogFramer(1000)
    message = b"<13>1 2026-11-25T10:00:00Z h app - - - hello\nworld"
    stream = str(len(message)).encode() + b" " + message + b"<13>1 - h a - - - lf framed\n"
    frames = framer.feed(stream[:7]) + framer.feed(stream[7:])
    assert [f.data for f in frames] == [message, b"<13>1 - h a - - - lf framed"]
    assert all(f.error is None for f in frames)


def test_bad_framing_breaks_the_stream() -> None:
    """Garbage where a length or '<' should be is reported once; nothing more is read."""
    framer = SyslogFramer(1000)
    frames = framer.feed(b"hello world\n")
    assert [f.error for f in frames] == ["bad_framing"]
    assert framer.broken
    assert framer.feed(b"<13>1 - - - - - - x\n") == []


def test_octet_count_above_the_cap_is_refused_before_reading() -> None:
    """A declared length of 10 MB is refused at once, not buffered."""
    framer = SyslogFramer(64 * 1024)
    frames = framer.feed(b"10485760 <13>1 ...")
    assert [f.error for f in frames] == ["message_too_long"]
    assert framer.broken


def test_length_without_space_is_bad_framing() -> None:
    """Twelve digits and no space cannot be a length."""
    framer = SyslogFramer(1000)
    assert [f.error for f in framer.feed(b"123456789012345")] == ["bad_framing"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=10), st.integers(min_value=64, max_value=500))
def test_framers_never_raise_and_respect_the_cap(chunks: list[bytes], cap: int) -> None:
    """Any bytes in any cuts: frames or refusals, each record within the cap."""
    lines = LineSplitter(cap)
    framer = SyslogFramer(cap)
    for chunk in chunks:
        for frame in lines.feed(chunk) + framer.feed(chunk):
            assert len(frame.data) <= max(cap, 256)
        assert lines.buffered <= cap
    lines.finish()
