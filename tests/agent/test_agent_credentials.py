"""The agent's key, CSR and PKCS #12 bundle, checked against the gateway's own CA code."""

from __future__ import annotations

import random
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from menshen.agent.credentials import (
    certificate_request,
    key_pem,
    load_key,
    new_device_key,
    pkcs12_bundle,
    write_private,
)
from menshen.crypto import SecretBox
from menshen.identity.devices.ca import create_authority, issue_certificate
from menshen.jwk import public_jwk

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _issue(csr: str) -> tuple[str, str]:
    box = SecretBox(bytes(range(32)), random_bytes=random.Random(1).randbytes)
    authority = create_authority("t1", box, NOW, random.Random(2).randbytes)
    issued = issue_certificate(
        authority,
        box,
        csr,
        user_id="alice",
        device_id="dev_1",
        now=NOW,
        lifetime=timedelta(days=30),
        random_bytes=random.Random(3).randbytes,
    )
    return issued.certificate_pem, authority.certificate_pem


def test_the_csr_is_accepted_by_the_device_ca_for_the_same_key() -> None:
    """The tenant CA issues a certificate for exactly the agent's key."""
    key = new_device_key()
    certificate_pem, _ = _issue(certificate_request(key, "Work laptop"))
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    issued_key = certificate.public_key()
    assert public_jwk(issued_key) == public_jwk(key.public_key())  # type: ignore[arg-type]


def test_the_bundle_holds_key_certificate_and_ca_behind_the_password() -> None:
    """A browser importing device.p12 with its password gets all three parts."""
    key = new_device_key()
    certificate_pem, ca_pem = _issue(certificate_request(key, "Laptop"))
    bundle = pkcs12_bundle(key, certificate_pem, ca_pem, name="Laptop", password="s3cret")
    loaded = pkcs12.load_pkcs12(bundle, b"s3cret")
    assert loaded.key is not None
    assert loaded.cert is not None
    assert loaded.cert.friendly_name == b"Laptop"
    assert [c.certificate for c in loaded.additional_certs] == [
        x509.load_pem_x509_certificate(ca_pem.encode())
    ]


def test_the_key_file_is_private_and_reads_back(tmp_path: Path) -> None:
    """device.key is written 0600 and loads as the same P-256 key."""
    key = new_device_key()
    path = tmp_path / "device.key"
    write_private(path, key_pem(key))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_jwk(load_key(path).public_key()) == public_jwk(key.public_key())
