"""The syslog listener: RFC 5424 messages over TCP (RFC 6587), optionally TLS (RFC 5425).

Each connection has its own ``SyslogFramer``. Records go to the pipeline through
``submit_waiting``: while the source is over its rate or its queue is full the listener stops
reading that connection, so TCP flow control pushes back on the sender instead of anything
being dropped. Bad framing cannot be re-synchronised: it is counted and quarantined, and the
connection is closed. At most ``max_connections`` senders are served at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl

from menshen.monitor.ingest.framing import SyslogFramer
from menshen.monitor.ingest.pipeline import Pipeline, RawRecord, SourceKey
from menshen.monitor.ingest.syslog5424 import map_syslog

__all__ = ["SyslogListener"]

_log = logging.getLogger(__name__)
_READ = 64 * 1024


class SyslogListener:
    def __init__(
        self,
        pipeline: Pipeline,
        key: SourceKey,
        *,
        tls: ssl.SSLContext | None = None,
        max_connections: int = 64,
        idle_timeout: float = 300.0,
    ) -> None:
        self._pipeline = pipeline
        self._key = key
        self._tls = tls
        self._slots = asyncio.Semaphore(max_connections)
        self._idle = idle_timeout
        self._server: asyncio.Server | None = None
        self._ids = itertools.count()
        self.port = 0
        self.connections = 0

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._slots.locked():
            self._pipeline.reject(self._key, "too_many_connections", "", b"")
            writer.close()
            return
        async with self._slots:
            self.connections += 1
            try:
                await self._read(reader)
            except (ConnectionError, TimeoutError, ssl.SSLError) as exc:
                _log.info("syslog connection ended: %s", type(exc).__name__)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        framer = SyslogFramer(self._pipeline.limits.max_line)
        conn = next(self._ids)
        index = 0
        while not framer.broken:
            data = await asyncio.wait_for(reader.read(_READ), self._idle)
            if not data:
                return
            records: list[RawRecord] = []
            for frame in framer.feed(data):
                if frame.error is not None:
                    self._pipeline.reject(self._key, frame.error, "syslog framing", frame.data)
                    continue
                text = frame.data.decode("utf-8", "replace")
                records.append(RawRecord(text, f"syslog:{conn}:{index}"))
                index += 1
            if records:
                # Not reading on until the pipeline took these: back-pressure on the sender.
                await self._pipeline.submit_waiting(self._key, records, map_syslog)
