"""TLS for the listener (RFC 8446 / RFC 5246; NIST SP 800-52r2 §3 cipher guidance).

``server_context`` accepts TLS 1.2 and 1.3 only, forward-secret AEAD suites for 1.2, and
advertises ALPN ``http/1.1`` (RFC 7301). ``generate_self_signed`` makes an EC P-256
certificate with subject alternative names for the demo.

Device certificates (RFC 8446 §4.3.2 CertificateRequest, §4.4.2): given the device CAs, the
listener asks every client for a certificate but does not require one (``CERT_OPTIONAL``), so
a browser without one connects as before. A certificate that is presented is verified by
OpenSSL against those CAs during the handshake (one that no device CA issued ends the
handshake); the connection then reads its serial once (``peer_serial``) and the guard maps
it to a device. CAs added later (``trust_client_authorities``) count from the next handshake.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["generate_self_signed", "peer_serial", "server_context", "trust_client_authorities"]

_TLS12_CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
)


def server_context(
    cert_file: str | Path,
    key_file: str | Path,
    *,
    client_authorities: Iterable[str] | None = None,
) -> ssl.SSLContext:
    """A server-side context: TLS >= 1.2, sane ciphers, ALPN http/1.1, no compression.

    With ``client_authorities`` (PEM CA certificates, possibly none yet) clients are asked
    for an optional certificate issued by one of them.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= ssl.OP_NO_RENEGOTIATION
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(str(cert_file), str(key_file))
    if client_authorities is not None:
        context.verify_mode = ssl.CERT_OPTIONAL
        trust_client_authorities(context, client_authorities)
    return context


def trust_client_authorities(context: ssl.SSLContext, pems: Iterable[str]) -> None:
    """Accept client certificates issued by these CAs from the next handshake on."""
    for pem in pems:
        context.load_verify_locations(cadata=pem)


def peer_serial(peercert: object) -> str | None:
    """The serial (lower-case hex, no leading zeros) of a verified client certificate, from
    ``SSLObject.getpeercert()``; None when the client presented none."""
    if not isinstance(peercert, dict):
        return None
    serial = peercert.get("serialNumber")
    if not isinstance(serial, str) or not serial:
        return None
    return serial.lower().lstrip("0") or "0"


def generate_self_signed(
    cert_path: str | Path,
    key_path: str | Path,
    hostnames: list[str],
    *,
    now: dt.datetime | None = None,
    days: int = 365,
) -> None:
    """Write a self-signed EC P-256 certificate for ``hostnames`` plus 127.0.0.1 and ::1.

    The key file is created with mode 0600. ``now`` makes the validity window exact in tests.
    """
    if not hostnames:
        raise ValueError("at least one host name is needed")
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])])
    alt_names: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    alt_names += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(str(key_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    os.chmod(key_path, 0o600)
    Path(cert_path).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
