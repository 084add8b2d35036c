"""A posture report as the gateway verifies it (``menshen.identity.devices.posture``).

A compact JWS (RFC 7515 §7.1) signed ES256 (RFC 7518 §3.4: the signature is ``r || s``, 32
bytes each) with the device key, over the report body: the device id, OS and version, the
three protections, the time (a NumericDate, RFC 7519 §2) and a random nonce so that each
report is unique. Pure: the key, the time and the nonce come in as arguments.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

__all__ = ["Posture", "report_body", "sign_report"]


@dataclass(frozen=True, slots=True)
class Posture:
    """What the device says about itself."""

    os: str
    os_version: str
    disk_encrypted: bool
    screen_lock: bool
    firewall: bool


def report_body(device_id: str, posture: Posture, at: datetime, nonce: str) -> dict[str, object]:
    return {
        "device_id": device_id,
        "os": posture.os,
        "os_version": posture.os_version,
        "disk_encrypted": posture.disk_encrypted,
        "screen_lock": posture.screen_lock,
        "firewall": posture.firewall,
        "reported_at": int(at.timestamp()),
        "nonce": nonce,
    }


def sign_report(key: ec.EllipticCurvePrivateKey, body: dict[str, object]) -> str:
    """``body`` as a compact JWS signed ES256 with ``key``."""
    header = _b64(json.dumps({"alg": "ES256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    signed = f"{header}.{payload}".encode("ascii")
    r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
    return f"{header}.{payload}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
