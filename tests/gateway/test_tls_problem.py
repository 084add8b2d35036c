"""TLS listener helpers and RFC 9457 problem bodies."""

from __future__ import annotations

import asyncio
import json
import ssl
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from menshen.gateway.contract import ListenerLimits
from menshen.gateway.problem import problem
from menshen.gateway.server import GatewayServer
from menshen.gateway.tls import generate_self_signed, server_context
from menshen.testing import FixedClock

from .upstreams import FakeGuard, RecordingUpstream, read_response, run


def test_problem_is_rfc9457_json_and_not_cached() -> None:
    """problem() yields application/problem+json with the standard members."""
    answer = problem(403, "Forbidden", "no rule allows this", type_="urn:menshen:deny", rule="r1")
    assert answer.status == 403
    assert ("content-type", "application/problem+json") in answer.headers
    assert ("cache-control", "no-store") in answer.headers
    assert json.loads(answer.body) == {
        "type": "urn:menshen:deny",
        "title": "Forbidden",
        "status": 403,
        "detail": "no rule allows this",
        "rule": "r1",
    }


def test_self_signed_certificate_has_sans_and_private_key(tmp_path: Path) -> None:
    """The demo certificate names the hosts and loopback; the key file is 0600."""
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    generate_self_signed(cert, key, ["gw.example"], now=datetime(2026, 1, 1, tzinfo=UTC))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    sans = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["gw.example"]
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    context = server_context(cert, key)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.e2e
def test_https_listener_proxies_and_reports_https_scheme(tmp_path: Path) -> None:
    """Over TLS the head says https and the upstream sees X-Forwarded-Proto: https."""
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    generate_self_signed(cert, key, ["localhost"])

    async def scenario() -> None:
        upstream = RecordingUpstream()
        await upstream.start()
        guard = FakeGuard(upstream.upstream)
        gateway = GatewayServer(
            guard, ListenerLimits(), FixedClock(), tls=server_context(cert, key)
        )
        await gateway.start("127.0.0.1", 0)
        client_context = ssl.create_default_context(cafile=str(cert))
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", gateway.port, ssl=client_context, server_hostname="localhost"
            )
            writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status, _, body = await read_response(reader)
            writer.close()
            assert (status, body) == (200, b"ok")
            assert guard.heads[0].scheme == "https"
            assert b"x-forwarded-proto: https\r\n" in upstream.requests[0].head
        finally:
            await gateway.stop()
            await upstream.stop()

    run(scenario())
