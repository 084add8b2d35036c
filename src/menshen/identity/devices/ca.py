"""Each tenant's device certificate authority (RFC 5280 profile, one level below the root).

The CA key is a P-256 key sealed with the installation's ``SecretBox``, bound to the tenant
(``associated_data``), so a sealed key copied to another tenant's row fails to open. A device
certificate (RFC 5280 §4.2.1.6 subjectAltName, §4.2.1.12 extendedKeyUsage clientAuth) names
the tenant, user and device in one URI, ``urn:menshen:device:<tenant>:<user>:<device>`` with
each part percent-encoded, so a certificate cannot be presented for another user's session.
Verification takes only the leaf from what the client presents and trusts only the CA kept
in the store; revocation is the registry's (the service checks the serial against the
device record), so a revoked device's certificate is refused at once, without a CRL fetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from menshen.crypto import RandomBytes, SecretBox
from menshen.errors import InvalidInput
from menshen.identity.devices.model import DeviceFailed
from menshen.store.records import DeviceAuthorityRecord

__all__ = [
    "IssuedCertificate",
    "PresentedCertificate",
    "create_authority",
    "device_uri",
    "issue_certificate",
    "verify_certificate",
]

CA_LIFETIME = timedelta(days=3650)
_URI_PREFIX = "urn:menshen:device:"
_BACKDATE = timedelta(minutes=5)  # tolerate clients whose clocks run a little slow


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    certificate_pem: str
    serial: str  # hex
    not_after: datetime
    public_key: ec.EllipticCurvePublicKey


@dataclass(frozen=True, slots=True)
class PresentedCertificate:
    """Who a verified certificate names; the caller still checks it against the registry."""

    tenant_id: str
    user_id: str
    device_id: str
    serial: str  # hex


def device_uri(tenant_id: str, user_id: str, device_id: str) -> str:
    return _URI_PREFIX + ":".join(quote(part, safe="") for part in (tenant_id, user_id, device_id))


def create_authority(
    tenant_id: str, box: SecretBox, now: datetime, random_bytes: RandomBytes
) -> DeviceAuthorityRecord:
    """A new self-signed CA for ``tenant_id``, its key sealed with ``box``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "menshen"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"menshen device CA {tenant_id}"[:64]),
        ]
    )
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(_serial(random_bytes))
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return DeviceAuthorityRecord(
        tenant_id=tenant_id,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        private_key_sealed=box.seal(private, _binding(tenant_id)),
        created_at=now,
    )


def issue_certificate(
    authority: DeviceAuthorityRecord,
    box: SecretBox,
    csr_pem: str,
    *,
    user_id: str,
    device_id: str,
    now: datetime,
    lifetime: timedelta,
    random_bytes: RandomBytes,
) -> IssuedCertificate:
    """A client certificate for the CSR's key; InvalidInput unless the CSR is a valid,
    self-signed request for a P-256 key."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode("ascii"))
        valid = csr.is_signature_valid
        public = csr.public_key()
    except (ValueError, UnicodeEncodeError, AttributeError):
        raise InvalidInput("the certificate request is not a PEM CSR") from None
    if not valid:
        raise InvalidInput("the certificate request's signature is invalid")
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
        public.curve, ec.SECP256R1
    ):
        raise InvalidInput("the certificate request must be for a P-256 key")
    ca_cert = x509.load_pem_x509_certificate(authority.certificate_pem.encode("ascii"))
    ca_key = _open_key(authority, box)
    not_after = min(now + lifetime, ca_cert.not_valid_after_utc)
    uri = device_uri(authority.tenant_id, user_id, device_id)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id[:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(_serial(random_bytes))
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return IssuedCertificate(
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        serial=format(certificate.serial_number, "x"),
        not_after=certificate.not_valid_after_utc,
        public_key=public,
    )


def verify_certificate(
    authority: DeviceAuthorityRecord, presented_pem: str, *, now: datetime
) -> PresentedCertificate:
    """Who the leaf of ``presented_pem`` names, if the tenant CA issued it for client
    authentication and it is valid at ``now``; DeviceFailed otherwise."""
    try:
        chain = x509.load_pem_x509_certificates(presented_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, AttributeError):
        raise DeviceFailed("malformed_certificate") from None
    leaf = chain[0]
    ca_cert = x509.load_pem_x509_certificate(authority.certificate_pem.encode("ascii"))
    try:
        leaf.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        raise DeviceFailed("untrusted_certificate") from None
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise DeviceFailed("certificate_expired")
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise DeviceFailed("untrusted_certificate") from None
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        raise DeviceFailed("untrusted_certificate")
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    parts = _parse_uri(uris)
    if parts is None or parts[0] != authority.tenant_id:
        raise DeviceFailed("untrusted_certificate")
    return PresentedCertificate(
        tenant_id=parts[0],
        user_id=parts[1],
        device_id=parts[2],
        serial=format(leaf.serial_number, "x"),
    )


def _parse_uri(uris: list[str]) -> tuple[str, str, str] | None:
    ours = [uri for uri in uris if uri.startswith(_URI_PREFIX)]
    if len(ours) != 1:
        return None
    pieces = ours[0][len(_URI_PREFIX) :].split(":")
    if len(pieces) != 3 or not all(pieces):
        return None
    tenant, user, device = (unquote(piece) for piece in pieces)
    return tenant, user, device


def _open_key(authority: DeviceAuthorityRecord, box: SecretBox) -> ec.EllipticCurvePrivateKey:
    private = box.open(authority.private_key_sealed, _binding(authority.tenant_id))
    key = serialization.load_der_private_key(private, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InvalidInput("the device CA key is not an EC key")
    return key


def _binding(tenant_id: str) -> bytes:
    return f"device-ca:{tenant_id}".encode()


def _serial(random_bytes: RandomBytes) -> int:
    # RFC 5280 §4.1.2.2: positive, at most 20 octets; 127 random bits and never zero.
    return (int.from_bytes(random_bytes(16), "big") >> 1) | 1


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
