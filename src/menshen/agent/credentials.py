"""The device's key and certificate: a P-256 key, its certificate request and the bundle a
browser imports.

RFC 2986 (PKCS #10 certification request), RFC 7292 (PKCS #12). The key never leaves the
device: the gateway sees the CSR, which proves possession of the key by its signature. The
PKCS #12 file is encrypted with a password (the best scheme ``cryptography`` offers:
PBES2 with AES-256 and PBKDF2), because browsers and keychains import it only with one.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

__all__ = [
    "certificate_request",
    "load_key",
    "new_device_key",
    "pkcs12_bundle",
    "write_private",
]


def new_device_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def certificate_request(key: ec.EllipticCurvePrivateKey, name: str) -> str:
    """A PEM CSR for ``key``; the CA names the certificate itself, ``name`` is a hint."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64] or "device")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The device key written by ``menshen agent enrol``; ValueError if it is not one."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{path} does not hold a P-256 device key")
    return key


def pkcs12_bundle(
    key: ec.EllipticCurvePrivateKey,
    certificate_pem: str,
    ca_pem: str,
    *,
    name: str,
    password: str,
) -> bytes:
    """The key, its certificate and the CA in one password-protected PKCS #12 file."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    ca = x509.load_pem_x509_certificate(ca_pem.encode("ascii"))
    return pkcs12.serialize_key_and_certificates(
        name.encode("utf-8"),
        key,
        certificate,
        [ca],
        serialization.BestAvailableEncryption(password.encode("utf-8")),
    )


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only (mode 0600), replacing what was there."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
