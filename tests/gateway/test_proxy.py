"""Forwarding: exact bytes upstream, header rules end to end, streaming, pooling, errors."""

from __future__ import annotations

import asyncio

import pytest

from menshen.gateway.contract import (
    Forward,
    Handle,
    ListenerLimits,
    RequestHead,
    Respond,
    Upstream,
    Verdict,
)

from .upstreams import exchange, harness, read_response, run

pytestmark = pytest.mark.e2e

H = b"Host: Example.COM.\r\n"


def test_upstream_receives_exactly_the_canonical_path_and_query() -> None:
    """The judged path is byte-for-byte the path sent upstream; the query passes unchanged."""

    async def scenario() -> None:
        async with harness() as h:
            await exchange(
                h.port,
                b"GET /%61dmin/a%7cb?x=%2e%2e/&y HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
            )
            head = h.guard.heads[0]
            assert head.path == "/admin/a%7Cb"
            assert head.query == "x=%2e%2e/&y"
            assert head.host == "example.com"
            sent = h.upstream.requests[0].head
            assert sent.startswith(b"GET /admin/a%7Cb?x=%2e%2e/&y HTTP/1.1\r\n")
            assert head.target.encode() == sent.split(b" ")[1]

    run(scenario())


def test_spoofed_identity_and_forwarding_headers_never_reach_upstream() -> None:
    """Client X-Menshen-*, X_Forwarded_For, X-Forwarded-* are replaced by the gateway's own."""

    async def scenario() -> None:
        async with harness() as h:
            await exchange(
                h.port,
                b"GET / HTTP/1.1\r\n"
                + H
                + b"X-Menshen-User: root\r\nx-MENSHEN-user: root\r\nX_Menshen_User: root\r\n"
                + b"X_Forwarded_For: 6.6.6.6\r\nX-Forwarded-For: 6.6.6.6\r\n"
                + b"X-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 6.6.6.6\r\n"
                + b"Connection: close\r\n\r\n",
            )
            sent = h.upstream.requests[0].head.lower()
            assert b"menshen" not in sent
            assert b"6.6.6.6" not in sent
            assert b"evil" not in sent
            assert b"x-forwarded-for: 127.0.0.1\r\n" in sent
            assert b"x-forwarded-proto: http\r\n" in sent
            assert b"x-forwarded-host: example.com.\r\n" in sent
            assert h.guard.heads[0].client_ip == "127.0.0.1"
            assert ("identity_header_stripped", "127.0.0.1") in [e[:2] for e in h.errors]

    run(scenario())


def test_trusted_proxy_chain_sets_client_ip_and_is_appended() -> None:
    """From a trusted peer, the rightmost untrusted address is the client."""

    async def scenario() -> None:
        limits = ListenerLimits(trusted_proxies=("127.0.0.0/8",))
        async with harness(limits) as h:
            await exchange(
                h.port,
                b"GET / HTTP/1.1\r\n"
                + H
                + b"X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
                + b"Connection: close\r\n\r\n",
            )
            head = h.guard.heads[0]
            assert head.client_ip == "203.0.113.7"
            assert head.scheme == "https"
            sent = h.upstream.requests[0].head
            assert b"x-forwarded-for: 198.51.100.1, 203.0.113.7, 127.0.0.1\r\n" in sent

    run(scenario())


@pytest.mark.parametrize("xff", [b"a", b"1.2.3.4, evil", b"1.2.3.4," * 25 + b"1.2.3.4"])
def test_unparsable_forwarded_for_from_trusted_proxy_is_400(xff: bytes) -> None:
    """The policy is never skipped because X-Forwarded-For could not be read."""

    async def scenario() -> None:
        limits = ListenerLimits(trusted_proxies=("127.0.0.1/32",))
        async with harness(limits) as h:
            answer = await exchange(
                h.port, b"GET / HTTP/1.1\r\n" + H + b"X-Forwarded-For: " + xff + b"\r\n\r\n"
            )
            assert answer.startswith(b"HTTP/1.1 400 ")
            assert h.guard.heads == []

    run(scenario())


def test_cookie_stripping_and_added_headers_replace_client_ones() -> None:
    """The session cookie is removed; add_headers win over same-named client headers."""

    def decide(head: RequestHead) -> Verdict:
        return Forward(
            Upstream("127.0.0.1", port[0]),
            add_headers=(("X-Menshen-Assertion", "jwt"), ("X-Auth-User", "alice")),
            strip_cookies=frozenset({"menshen"}),
        )

    port = [0]

    async def scenario() -> None:
        async with harness(decide=decide) as h:
            port[0] = h.upstream.port
            await exchange(
                h.port,
                b"GET / HTTP/1.1\r\n"
                + H
                + b"Cookie: a=1; menshen=secret; b=2\r\n"
                + b"X-Auth-User: mallory\r\nConnection: close\r\n\r\n",
            )
            await exchange(
                h.port,
                b"GET / HTTP/1.1\r\n" + H + b"Cookie: menshen=secret\r\nConnection: close\r\n\r\n",
            )
            first, second = (r.head for r in h.upstream.requests)
            assert b"cookie: a=1; b=2\r\n" in first
            assert b"secret" not in first
            assert b"secret" not in second
            assert b"cookie" not in second
            assert b"mallory" not in first
            assert first.endswith(b"X-Menshen-Assertion: jwt\r\nX-Auth-User: alice\r\n\r\n")

    run(scenario())


def test_keepalive_reuses_one_upstream_connection() -> None:
    """Ten sequential requests on one client connection use one upstream connection."""

    async def scenario() -> None:
        async with harness() as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            for i in range(10):
                writer.write(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\n%02d" % i)
                status, _, body = await read_response(reader)
                assert (status, body) == (200, b"%02d" % i)
            writer.close()
            assert h.upstream.connections == 1
            assert h.gateway.pool.connections_opened == 1

    run(scenario())


def test_large_upload_is_streamed_upstream() -> None:
    """A 20 MB body passes with a raised limit and the upstream counts every byte."""

    async def scenario() -> None:
        size = 20 * 1024 * 1024

        def decide(head: RequestHead) -> Verdict:
            return Forward(upstream, max_body_bytes=size)

        async with harness(ListenerLimits(max_body_bytes=1024), decide=decide) as h:
            upstream = h.upstream.upstream
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            writer.write(b"PUT /count HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % size)
            piece = b"u" * 65536
            for _ in range(size // len(piece)):
                writer.write(piece)
                await writer.drain()
            status, _, body = await read_response(reader)
            writer.close()
            assert (status, body) == (200, str(size).encode())

    run(scenario(), timeout=60)


def test_large_download_streams_before_upstream_finishes() -> None:
    """The first bytes of a 20 MB response arrive while the upstream is still sending."""

    async def scenario() -> None:
        size = 20 * 1024 * 1024
        async with harness() as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            writer.write(b"GET /big?n=%d HTTP/1.1\r\n" % size + H + b"\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            assert b"content-length: %d" % size in head.lower()
            await reader.readexactly(65536)
            await asyncio.sleep(0.2)
            assert h.upstream.big_finished_at is None  # back-pressure holds the upstream
            received = 65536
            while received < size:
                received += len(await reader.read(1 << 20))
            writer.close()
            assert received == size

    run(scenario(), timeout=60)


def test_chunked_and_close_delimited_responses_are_rechunked() -> None:
    """Chunked and close-delimited upstream bodies reach HTTP/1.1 clients chunked."""

    async def scenario() -> None:
        async with harness() as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            writer.write(b"GET /chunked HTTP/1.1\r\n" + H + b"\r\n")
            status, headers, body = await read_response(reader)
            assert (status, body, headers["transfer-encoding"]) == (
                200,
                b"alphabetagamma",
                "chunked",
            )
            writer.write(b"GET /close HTTP/1.1\r\n" + H + b"\r\n")
            status, headers, body = await read_response(reader)
            assert (status, body) == (200, b"until-close")
            writer.close()

    run(scenario())


def test_head_and_204_responses_have_no_body_and_keep_the_connection() -> None:
    """HEAD keeps Content-Length without a body; the next response parses cleanly."""

    async def scenario() -> None:
        async with harness() as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            writer.write(b"HEAD / HTTP/1.1\r\n" + H + b"\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 ")
            assert b"content-length: 10" in head.lower()
            writer.write(b"GET /no-content HTTP/1.1\r\n" + H + b"\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 204 ")
            writer.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
            status, _, body = await read_response(reader)
            assert (status, body) == (200, b"ok")
            writer.close()
            assert h.upstream.connections == 1

    run(scenario())


def test_unreachable_upstream_is_502_and_silent_upstream_is_504() -> None:
    """Connect failure gives a 502 problem; no answer within the timeout gives 504."""

    def decide(head: RequestHead) -> Verdict:
        if head.path == "/down":
            return Forward(Upstream("127.0.0.1", 1))
        return Forward(Upstream("127.0.0.1", port[0]))

    port = [0]

    async def scenario() -> None:
        limits = ListenerLimits(upstream_response_timeout_seconds=0.3)
        async with harness(limits, decide=decide) as h:
            port[0] = h.upstream.port
            answer = await exchange(
                h.port, b"GET /down HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"
            )
            assert answer.startswith(b"HTTP/1.1 502 ")
            assert b"application/problem+json" in answer
            answer = await exchange(
                h.port, b"GET /silent HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"
            )
            assert answer.startswith(b"HTTP/1.1 504 ")

    run(scenario())


def test_guard_exception_is_500_and_never_forwarded() -> None:
    """A guard that raises denies (fail closed)."""

    def decide(head: RequestHead) -> Verdict:
        raise RuntimeError("boom")

    async def scenario() -> None:
        async with harness(decide=decide) as h:
            answer = await exchange(h.port, b"GET / HTTP/1.1\r\n" + H + b"\r\n")
            assert answer.startswith(b"HTTP/1.1 500 ")
            assert h.upstream.requests == []

    run(scenario())


def test_guard_header_with_crlf_is_500_not_split() -> None:
    """An add_headers value with CR/LF cannot split the upstream request."""

    def decide(head: RequestHead) -> Verdict:
        return Forward(
            Upstream("127.0.0.1", 9), add_headers=(("X-A", "a\r\nX-Menshen-User: root"),)
        )

    async def scenario() -> None:
        async with harness(decide=decide) as h:
            answer = await exchange(h.port, b"GET / HTTP/1.1\r\n" + H + b"\r\n")
            assert answer.startswith(b"HTTP/1.1 500 ")

    run(scenario())


def test_respond_verdict_is_written_with_content_length_and_keepalive() -> None:
    """A Respond is sent as is, with Content-Length, and the connection stays usable."""

    def decide(head: RequestHead) -> Verdict:
        return Respond(302, (("Location", "/.menshen/login"),), b"")

    async def scenario() -> None:
        async with harness(decide=decide) as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            for _ in range(2):
                writer.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
                status, headers, _ = await read_response(reader)
                assert status == 302
                assert headers["location"] == "/.menshen/login"
                assert headers["content-length"] == "0"
            writer.close()

    run(scenario())


def test_handle_verdict_reads_bounded_body_and_awaits_handler() -> None:
    """Handle gets the whole (bounded) body; a larger one is 413."""

    async def handler(head: RequestHead, body: bytes) -> Respond:
        await asyncio.sleep(0)
        return Respond(200, (("Content-Type", "text/plain"),), b"got " + body)

    def decide(head: RequestHead) -> Verdict:
        return Handle(handler, max_body_bytes=10)

    async def scenario() -> None:
        async with harness(decide=decide) as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            writer.write(
                b"POST /.menshen/login HTTP/1.1\r\n"
                + H
                + b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
            )
            assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"5\r\nhello\r\n0\r\n\r\n")
            status, _, body = await read_response(reader)
            assert (status, body) == (200, b"got hello")
            writer.close()
            answer = await exchange(
                h.port, b"POST /x HTTP/1.1\r\n" + H + b"Content-Length: 11\r\n\r\n" + b"a" * 11
            )
            assert answer.startswith(b"HTTP/1.1 413 ")

    run(scenario())
