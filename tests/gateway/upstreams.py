"""Test doubles for the data plane: a recording HTTP/1.1 upstream, a fake guard, a raw client.

The upstream answers by path:

* ``/echo``        200, the request body back (``Content-Length``)
* ``/count``       200, the number of body bytes received (read in pieces, never kept)
* ``/chunked``     200, three chunks ``alpha`` ``beta`` ``gamma``
* ``/close``       200, close-delimited body ``until-close``
* ``/big``         200, ``n`` bytes (query ``n=``) in 64 KiB writes, ``Content-Length``
* ``/no-content``  204
* ``/silent``      never answers
* anything else    200 ``ok``; HEAD gets ``Content-Length: 10`` and no body
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvloop

from menshen.gateway.contract import Forward, ListenerLimits, RequestHead, Upstream, Verdict
from menshen.gateway.server import GatewayServer
from menshen.testing import FixedClock

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run ``coro`` on a fresh uvloop loop, bounded in time."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(bounded())


@dataclass
class Seen:
    """One request as the upstream received it."""

    head: bytes
    body: bytes
    connection: int


@dataclass
class RecordingUpstream:
    """An asyncio HTTP/1.1 origin that records what it receives."""

    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    big_finished_at: float | None = None
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()

    @property
    def upstream(self) -> Upstream:
        return Upstream("127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self._writers.add(writer)
        try:
            for _ in range(1000):
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                keep = await self._answer(number, head, reader, writer)
                if not keep:
                    return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(
        self, number: int, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        path, _, query = target.partition("?")
        counting = path == "/count"
        body, size = await _read_body(reader, headers, keep=not counting)
        self.requests.append(Seen(head, body, number))
        if path == "/echo":
            await _send(writer, 200, body)
        elif path == "/count":
            await _send(writer, 200, str(size).encode())
        elif path == "/chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b"alpha", b"beta", b"gamma"):
                writer.write(b"%x\r\n%b\r\n" % (len(part), part))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        elif path == "/close":
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close")
            await writer.drain()
            return False
        elif path == "/big":
            total = int(query.removeprefix("n="))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
            piece = b"x" * 65536
            sent = 0
            while sent < total:
                chunk = piece[: min(len(piece), total - sent)]
                writer.write(chunk)
                sent += len(chunk)
                await writer.drain()
            self.big_finished_at = asyncio.get_running_loop().time()
        elif path == "/no-content":
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif path == "/silent":
            await asyncio.sleep(30)
            return False
        elif method == "HEAD":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        else:
            await _send(writer, 200, b"ok")
        await writer.drain()
        return True


async def _send(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
    writer.write(b"HTTP/1.1 %d OK\r\nContent-Length: %d\r\n\r\n%b" % (status, len(body), body))
    await writer.drain()


async def _read_body(
    reader: asyncio.StreamReader, headers: dict[str, str], *, keep: bool
) -> tuple[bytes, int]:
    parts: list[bytes] = []
    size = 0
    if "content-length" in headers:
        left = int(headers["content-length"])
        while left:
            data = await reader.read(min(left, 65536))
            if not data:
                break
            left -= len(data)
            size += len(data)
            if keep:
                parts.append(data)
    elif headers.get("transfer-encoding") == "chunked":
        for _ in range(1_000_000):
            line = await reader.readuntil(b"\r\n")
            length = int(line.split(b";")[0], 16)
            if length == 0:
                await reader.readuntil(b"\r\n")
                break
            data = await reader.readexactly(length + 2)
            size += length
            if keep:
                parts.append(data[:-2])
    return b"".join(parts), size


class FakeGuard:
    """Forwards everything to one upstream unless ``decide`` says otherwise; records heads."""

    def __init__(self, upstream: Upstream, decide: Callable[[RequestHead], Verdict] | None = None):
        self.upstream = upstream
        self.heads: list[RequestHead] = []
        self.decide = decide

    def check(self, head: RequestHead) -> Verdict:
        self.heads.append(head)
        if self.decide is not None:
            return self.decide(head)
        return Forward(self.upstream)


async def exchange(port: int, data: bytes, *, limit: float = 5.0, host: str = "127.0.0.1") -> bytes:
    """Send raw bytes and read until the gateway closes the connection (bounded in time)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(data)
    await writer.drain()
    chunks: list[bytes] = []
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(limit):
            for _ in range(100_000):
                chunk = await reader.read(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    writer.close()
    return b"".join(chunks)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Read one response with a ``Content-Length`` or chunked body from a raw stream."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body, _ = await _read_body(reader, headers, keep=True)
    return status, headers, body


@dataclass
class Harness:
    gateway: GatewayServer
    upstream: RecordingUpstream
    guard: FakeGuard
    errors: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.gateway.port


@contextlib.asynccontextmanager
async def harness(
    limits: ListenerLimits | None = None,
    decide: Callable[[RequestHead], Verdict] | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[Harness]:
    """Start an upstream and a gateway in front of it; stop both afterwards."""
    upstream = RecordingUpstream()
    await upstream.start()
    guard = FakeGuard(upstream.upstream, decide)
    errors: list[tuple[str, str, str]] = []
    gateway = GatewayServer(
        guard,
        limits or ListenerLimits(),
        FixedClock(),
        on_protocol_error=lambda kind, peer, detail: errors.append((kind, peer, detail)),
        shutdown_grace_seconds=1.0,
    )
    await gateway.start(host, 0)
    try:
        yield Harness(gateway, upstream, guard, errors)
    finally:
        await gateway.stop()
        await upstream.stop()
