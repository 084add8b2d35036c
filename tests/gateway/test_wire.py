"""Request-head defences over a raw socket: smuggling, limits, slowloris, versions."""

from __future__ import annotations

import asyncio

import pytest

from menshen.gateway.contract import ListenerLimits

from .upstreams import exchange, harness, run

pytestmark = pytest.mark.e2e

H = b"Host: example.com\r\n"

SMUGGLING = {
    "cl_and_te": b"POST /echo HTTP/1.1\r\n"
    + H
    + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "duplicate_cl": b"POST /echo HTTP/1.1\r\n"
    + H
    + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "differing_cl": b"POST /echo HTTP/1.1\r\n"
    + H
    + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "te_gzip_chunked": b"POST /echo HTTP/1.1\r\n"
    + H
    + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "te_identity": b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\n\r\n",
    "obs_fold": b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\r\n 2\r\n\r\n",
    "bare_lf": b"GET / HTTP/1.1\n" + H + b"\r\n",
    "bare_lf_header": b"GET / HTTP/1.1\r\nHost: example.com\nX-A: 1\r\n\r\n",
    "bad_header_name": b"GET / HTTP/1.1\r\n" + H + b"X A: 1\r\n\r\n",
    "space_before_colon": b"GET / HTTP/1.1\r\nHost : example.com\r\n\r\n",
    "fragment": b"GET /a#b HTTP/1.1\r\n" + H + b"\r\n",
    "absolute_form": b"GET http://evil/a HTTP/1.1\r\n" + H + b"\r\n",
    "asterisk": b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
    "dot_dot": b"GET /public/../admin HTTP/1.1\r\n" + H + b"\r\n",
    "encoded_dot_dot": b"GET /%2e%2e/admin HTTP/1.1\r\n" + H + b"\r\n",
    "double_slash": b"GET //admin HTTP/1.1\r\n" + H + b"\r\n",
    "encoded_slash": b"GET /a%2Fadmin HTTP/1.1\r\n" + H + b"\r\n",
    "matrix": b"GET /admin;x HTTP/1.1\r\n" + H + b"\r\n",
    "missing_host": b"GET / HTTP/1.1\r\n\r\n",
    "duplicate_host": b"GET / HTTP/1.1\r\n" + H + H + b"\r\n",
    "userinfo_host": b"GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_smuggling_and_ambiguity_get_400_and_close(name: str) -> None:
    """Each ambiguous request is answered 400, never forwarded, and reported."""

    async def scenario() -> None:
        async with harness() as h:
            answer = await exchange(h.port, SMUGGLING[name])
            assert answer.startswith(b"HTTP/1.1 400 "), answer
            assert b"connection: close" in answer
            assert b"cache-control: no-store" in answer
            assert h.upstream.requests == []
            assert h.errors
            assert h.errors[0][1] == "127.0.0.1"

    run(scenario())


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"CONNECT example.com:443 HTTP/1.1\r\n" + H + b"\r\n", b"405"),
        (b"GET / HTTP/2.0\r\n" + H + b"\r\n", b"505"),
        (b"GET / HTTP/0.9\r\n" + H + b"\r\n", b"505"),
    ],
)
def test_connect_and_unsupported_versions_are_refused(request_bytes: bytes, status: bytes) -> None:
    """CONNECT is 405; versions other than 1.0 and 1.1 are 505."""

    async def scenario() -> None:
        async with harness() as h:
            answer = await exchange(h.port, request_bytes)
            assert answer.startswith(b"HTTP/1.1 " + status), answer

    run(scenario())


def test_http10_is_served() -> None:
    """HTTP/1.0 requests are proxied and the connection closes afterwards."""

    async def scenario() -> None:
        async with harness() as h:
            answer = await exchange(h.port, b"GET /chunked HTTP/1.0\r\n" + H + b"\r\n")
            assert answer.startswith(b"HTTP/1.1 200 ")
            assert answer.endswith(b"alphabetagamma")

    run(scenario())


def test_oversized_header_section_gets_431() -> None:
    """A header section above max_header_bytes is refused."""

    async def scenario() -> None:
        async with harness(ListenerLimits(max_header_bytes=1024)) as h:
            big = b"X-Pad: " + b"a" * 2000 + b"\r\n"
            answer = await exchange(h.port, b"GET / HTTP/1.1\r\n" + H + big + b"\r\n")
            assert answer.startswith(b"HTTP/1.1 431 ")
            answer = await exchange(h.port, b"GET / HTTP/1.1\r\n" + H + b"X-Pad: " + b"a" * 3000)
            assert answer.startswith(b"HTTP/1.1 431 ")

    run(scenario())


def test_oversized_content_length_gets_413_before_any_body() -> None:
    """A declared body above the limit is refused up front and never forwarded."""

    async def scenario() -> None:
        async with harness(ListenerLimits(max_body_bytes=100)) as h:
            answer = await exchange(
                h.port, b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 101\r\n\r\n"
            )
            assert answer.startswith(b"HTTP/1.1 413 ")
            assert h.upstream.requests == []
            assert h.errors[0][0] == "body_too_large"

    run(scenario())


def test_oversized_chunked_body_gets_413_while_streaming() -> None:
    """A chunked body is counted as it arrives and cut off at the limit."""

    async def scenario() -> None:
        async with harness(ListenerLimits(max_body_bytes=100)) as h:
            chunk = b"64\r\n" + b"a" * 100 + b"\r\n"
            answer = await exchange(
                h.port,
                b"POST /count HTTP/1.1\r\n"
                + H
                + b"Transfer-Encoding: chunked\r\n\r\n"
                + chunk
                + chunk
                + b"0\r\n\r\n",
            )
            assert answer.startswith(b"HTTP/1.1 413 ")

    run(scenario())


def test_slow_header_gets_408() -> None:
    """A head that does not complete within header_timeout is answered 408 (slowloris)."""

    async def scenario() -> None:
        async with harness(ListenerLimits(header_timeout_seconds=0.3)) as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: exa")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            assert answer.startswith(b"HTTP/1.1 408 ")
            assert h.errors[0][:2] == ("header_timeout", "127.0.0.1")

    run(scenario())


def test_idle_keepalive_connection_is_closed() -> None:
    """After keepalive_timeout without a new request the gateway closes the connection."""

    async def scenario() -> None:
        async with harness(ListenerLimits(keepalive_timeout_seconds=0.3)) as h:
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port)
            writer.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            assert answer.startswith(b"HTTP/1.1 200 ")
            assert answer.endswith(b"ok")

    run(scenario())


def test_pipelined_requests_are_answered_in_order() -> None:
    """Several requests in one write get their responses in the order sent."""

    async def scenario() -> None:
        async with harness() as h:
            requests = (
                b"".join(b"GET /p%d HTTP/1.1\r\n" % i + H + b"\r\n" for i in range(5))
                + b"GET /chunked HTTP/1.1\r\n"
                + H
                + b"Connection: close\r\n\r\n"
            )
            answer = await exchange(h.port, requests)
            assert answer.count(b"HTTP/1.1 200 ") == 6
            assert answer.endswith(b"0\r\n\r\n")
            assert [r.head.split(b" ")[1] for r in h.upstream.requests] == [
                b"/p0",
                b"/p1",
                b"/p2",
                b"/p3",
                b"/p4",
                b"/chunked",
            ]

    run(scenario())
