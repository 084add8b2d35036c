"""Device certificates on a TLS listener: optional, verified in the handshake, read once."""

from __future__ import annotations

import asyncio
import random
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from menshen.agent.credentials import certificate_request, key_pem, new_device_key
from menshen.crypto import SecretBox
from menshen.gateway.contract import ListenerLimits
from menshen.gateway.server import GatewayServer
from menshen.gateway.tls import (
    generate_self_signed,
    peer_serial,
    server_context,
    trust_client_authorities,
)
from menshen.identity.devices.ca import create_authority, issue_certificate
from menshen.store.records import DeviceAuthorityRecord
from menshen.testing import FixedClock

from .upstreams import FakeGuard, RecordingUpstream, read_response, run

NOW = datetime.now(UTC)
BOX = SecretBox(bytes(range(32)))


def _authority(tenant_id: str, seed: int) -> DeviceAuthorityRecord:
    return create_authority(tenant_id, BOX, NOW, random.Random(seed).randbytes)


def _device_files(
    tmp_path: Path, authority: DeviceAuthorityRecord, name: str
) -> tuple[Path, Path, str]:
    """A device key and certificate from ``authority`` on disk; the serial."""
    key = new_device_key()
    issued = issue_certificate(
        authority,
        BOX,
        certificate_request(key, name),
        user_id="alice",
        device_id=name,
        now=NOW,
        lifetime=timedelta(days=1),
        random_bytes=random.Random(name).randbytes,
    )
    cert, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert.write_text(issued.certificate_pem, encoding="ascii")
    key_file.write_bytes(key_pem(key))
    return cert, key_file, issued.serial


@pytest.fixture
def server_files(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    generate_self_signed(cert, key, ["localhost"])
    return cert, key


async def _get(port: int, server_cert: Path, client: tuple[Path, Path] | None) -> int:
    context = ssl.create_default_context(cafile=str(server_cert))
    if client is not None:
        context.load_cert_chain(str(client[0]), str(client[1]))
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="localhost"
    )
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, _, _ = await read_response(reader)
        return status
    finally:
        writer.close()


def test_the_serial_is_read_in_the_same_form_the_registry_keeps() -> None:
    """getpeercert's upper-case, zero-padded hex becomes the registry's lower-case hex."""
    assert peer_serial({"serialNumber": "0A1B2C"}) == "a1b2c"
    assert peer_serial({"serialNumber": "00"}) == "0"
    assert peer_serial(None) is None
    assert peer_serial({}) is None
    assert peer_serial({"serialNumber": 7}) is None


@pytest.mark.e2e
def test_a_listener_asks_for_a_device_certificate_but_does_not_require_one(
    tmp_path: Path, server_files: tuple[Path, Path]
) -> None:
    """Without a certificate the request passes with no serial; with one, its serial."""
    authority = _authority("t1", 1)
    device_cert, device_key, serial = _device_files(tmp_path, authority, "dev_1")

    async def scenario() -> None:
        upstream = RecordingUpstream()
        await upstream.start()
        guard = FakeGuard(upstream.upstream)
        context = server_context(*server_files, client_authorities=[authority.certificate_pem])
        gateway = GatewayServer(guard, ListenerLimits(), FixedClock(), tls=context)
        await gateway.start("127.0.0.1", 0)
        try:
            assert gateway.client_certificates is True
            assert await _get(gateway.port, server_files[0], None) == 200
            assert await _get(gateway.port, server_files[0], (device_cert, device_key)) == 200
            assert [head.client_cert_serial for head in guard.heads] == [None, serial]
        finally:
            await gateway.stop()
            await upstream.stop()

    run(scenario())


@pytest.mark.e2e
def test_a_device_ca_trusted_later_counts_from_the_next_handshake(
    tmp_path: Path, server_files: tuple[Path, Path]
) -> None:
    """A certificate of a CA not yet trusted ends the handshake; once trusted it passes."""
    first, later = _authority("t1", 1), _authority("t2", 2)
    other_cert, other_key, serial = _device_files(tmp_path, later, "dev_2")

    async def scenario() -> None:
        upstream = RecordingUpstream()
        await upstream.start()
        guard = FakeGuard(upstream.upstream)
        context = server_context(*server_files, client_authorities=[first.certificate_pem])
        gateway = GatewayServer(guard, ListenerLimits(), FixedClock(), tls=context)
        await gateway.start("127.0.0.1", 0)
        try:
            with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
                await _get(gateway.port, server_files[0], (other_cert, other_key))
            assert guard.heads == []
            trust_client_authorities(context, [later.certificate_pem])
            assert await _get(gateway.port, server_files[0], (other_cert, other_key)) == 200
            assert [head.client_cert_serial for head in guard.heads] == [serial]
        finally:
            await gateway.stop()
            await upstream.stop()

    run(scenario())


@pytest.mark.e2e
def test_a_listener_without_device_certificates_reads_no_serial(
    tmp_path: Path, server_files: tuple[Path, Path]
) -> None:
    """A plain TLS listener does not ask, so a client's certificate never reaches the guard."""
    authority = _authority("t1", 1)
    device_cert, device_key, _ = _device_files(tmp_path, authority, "dev_1")

    async def scenario() -> None:
        upstream = RecordingUpstream()
        await upstream.start()
        guard = FakeGuard(upstream.upstream)
        gateway = GatewayServer(
            guard, ListenerLimits(), FixedClock(), tls=server_context(*server_files)
        )
        await gateway.start("127.0.0.1", 0)
        try:
            assert gateway.client_certificates is False
            assert await _get(gateway.port, server_files[0], (device_cert, device_key)) == 200
            assert guard.heads[0].client_cert_serial is None
        finally:
            await gateway.stop()
            await upstream.stop()

    run(scenario())
