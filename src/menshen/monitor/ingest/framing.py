"""Splitting a byte stream into records without I/O (sans-IO), with a hard length cap.

* ``LineSplitter``: LF-terminated lines (JSON lines, log files, RFC 6587 §3.4.2
  non-transparent framing). A line longer than ``max_line`` is never accumulated: the
  splitter reports it once as too long and discards bytes up to its LF, so a 10 MB line costs
  ``max_line`` bytes of memory, not 10 MB.
* ``SyslogFramer``: RFC 6587 §3.4.1 octet counting (``MSG-LEN SP SYSLOG-MSG``), the framing
  RFC 5425 §4.3 requires over TLS, falling back to LF framing for a frame that starts with
  ``<`` (§3.4.2), as rsyslog and syslog-ng senders do. A length above the cap, a length with
  leading zeros or a frame that starts with neither is bad framing: the stream cannot be
  re-synchronised, so the framer reports it and stops (the listener closes the connection).

Both return ``Frame`` values: a record's bytes, or a refusal with its reason and excerpt.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Frame", "LineSplitter", "SyslogFramer"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One record (``data``) or, when ``error`` is set, a refused one (``data`` an excerpt)."""

    data: bytes
    error: str | None = None


class LineSplitter:
    """LF-separated records of at most ``max_line`` bytes (CR before LF is dropped)."""

    __slots__ = ("_buffer", "_discarding", "max_line")

    def __init__(self, max_line: int) -> None:
        if max_line < 1:
            raise ValueError("max_line must be positive")
        self.max_line = max_line
        self._buffer = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[Frame]:
        """The complete records in ``data`` and what came before it."""
        frames: list[Frame] = []
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            chunk = data[start:] if end < 0 else data[start:end]
            if self._discarding:
                if end >= 0:
                    self._discarding = False
            elif len(self._buffer) + len(chunk) > self.max_line:
                excerpt = bytes(self._buffer[:256] + chunk[:256])[:256]
                frames.append(Frame(excerpt, "line_too_long"))
                self._buffer.clear()
                self._discarding = end < 0
            else:
                self._buffer += chunk
                if end >= 0:
                    line = bytes(self._buffer).removesuffix(b"\r")
                    self._buffer.clear()
                    if line.strip():
                        frames.append(Frame(line))
            if end < 0:
                break
            start = end + 1
        return frames

    def finish(self) -> list[Frame]:
        """The last record of a stream that did not end with LF."""
        if self._discarding or not self._buffer.strip():
            self._buffer.clear()
            return []
        line = bytes(self._buffer).removesuffix(b"\r")
        self._buffer.clear()
        return [Frame(line)]

    @property
    def buffered(self) -> int:
        return len(self._buffer)


class SyslogFramer:
    """RFC 6587 framing: octet counting, or LF framing for frames starting with ``<``."""

    __slots__ = ("_buffer", "_lines", "broken", "max_message")

    def __init__(self, max_message: int) -> None:
        self.max_message = max_message
        self._buffer = bytearray()
        self._lines = LineSplitter(max_message)
        self.broken = False

    def feed(self, data: bytes) -> list[Frame]:
        """The complete messages so far; after a framing error, nothing more is read."""
        if self.broken:
            return []
        self._buffer += data
        frames: list[Frame] = []
        while self._buffer and not self.broken:
            first = self._buffer[0]
            if first == ord("<"):
                # Non-transparent framing: everything to the next LF is one message.
                end = self._buffer.find(b"\n")
                if end < 0:
                    if len(self._buffer) > self.max_message:
                        self._fail(frames, "message_too_long")
                    break
                line = bytes(self._buffer[:end]).removesuffix(b"\r")
                del self._buffer[: end + 1]
                if len(line) > self.max_message:
                    frames.append(Frame(line[:256], "message_too_long"))
                else:
                    frames.append(Frame(line))
            elif first in b"123456789":
                space = self._buffer.find(b" ", 0, 12)
                if space < 0:
                    if len(self._buffer) >= 12 or not bytes(self._buffer).isdigit():
                        self._fail(frames, "bad_framing")
                    break
                digits = bytes(self._buffer[:space])
                if not digits.isdigit():
                    self._fail(frames, "bad_framing")
                    break
                length = int(digits)
                if length > self.max_message:
                    self._fail(frames, "message_too_long")
                    break
                if len(self._buffer) < space + 1 + length:
                    break
                message = bytes(self._buffer[space + 1 : space + 1 + length])
                del self._buffer[: space + 1 + length]
                frames.append(Frame(message.removesuffix(b"\n")))
            elif first in b"\r\n":
                del self._buffer[:1]
            else:
                self._fail(frames, "bad_framing")
        return frames

    def _fail(self, frames: list[Frame], reason: str) -> None:
        frames.append(Frame(bytes(self._buffer[:256]), reason))
        self._buffer.clear()
        self.broken = True
