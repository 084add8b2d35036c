"""Loopback receivers for alerts: an HTTP endpoint and a minimal SMTP server (RFC 5321)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """What the HTTP receiver got: (path, headers, body) per request, and what to answer."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    arrived: threading.Event = field(default_factory=threading.Event)


@contextmanager
def http_receiver() -> Iterator[tuple[str, Received]]:
    """An HTTP server on 127.0.0.1 recording every POST; yields its base URL."""
    got = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            got.requests.append((self.path, {k: v for k, v in self.headers.items()}, body))
            status = got.statuses.pop(0) if got.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if status == 200:
                got.arrived.set()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()


class SmtpStub:
    """Accepts one message per session: EHLO, MAIL, RCPT, DATA, QUIT. No TLS, no auth."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender, recipients = "", []
        writer.write(b"220 stub ESMTP\r\n")
        for _ in range(100):  # bounded: a client gets at most 100 commands
            line = (await reader.readline()).decode().rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                writer.write(b"250-stub\r\n250 8BITMIME\r\n")
            elif verb == "MAIL":
                sender = line.split(":", 1)[1].strip(" <>")
                writer.write(b"250 ok\r\n")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip(" <>"))
                writer.write(b"250 ok\r\n")
            elif verb == "DATA":
                writer.write(b"354 go on\r\n")
                await writer.drain()
                body = await reader.readuntil(b"\r\n.\r\n")
                self.messages.append((sender, recipients, body[:-5]))
                writer.write(b"250 queued\r\n")
            elif verb == "QUIT" or not line:
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()
