"""Verifying a signed posture report: a compact JWS (RFC 7515 §7.1) signed ES256 (RFC 7518
§3.4) by the device's registered key, over a JSON body::

    {"device_id", "os", "os_version", "disk_encrypted", "screen_lock", "firewall",
     "reported_at" (NumericDate, RFC 7519 §2), "nonce"?}

Pure: the registered key and the time come in as arguments. Only ``ES256`` is accepted
(RFC 8725 §3.1: never take the algorithm from the token; ``none`` and HMAC are refused), the
signature is the fixed 64-byte ``r || s`` form, and the body must name the device the key is
registered to. Freshness (not older than the rules allow, not in the future) is checked here;
monotonicity against the last stored report (replay) is the service's job, with the store's
compare-and-set. Every refusal is a ``DeviceFailed`` with the reason for the audit log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from menshen.errors import InvalidInput
from menshen.identity.devices.model import DeviceFailed, PostureReport, TrustRules
from menshen.jwk import b64url_decode, public_key_from_jwk

__all__ = ["MAX_REPORT_BYTES", "verify_posture_report"]

MAX_REPORT_BYTES = 8192
_SIGNATURE_BYTES = 64
_MAX_TEXT = 128
_FLAGS = ("disk_encrypted", "screen_lock", "firewall")


def verify_posture_report(
    token: str,
    *,
    device_id: str,
    public_jwk: Mapping[str, Any],
    rules: TrustRules,
    now: datetime,
) -> PostureReport:
    """The report in ``token`` if ``device_id``'s key signed it and it is fresh at ``now``."""
    if not isinstance(token, str) or len(token) > MAX_REPORT_BYTES:
        raise DeviceFailed("malformed")
    parts = token.split(".")
    if len(parts) != 3:
        raise DeviceFailed("malformed")
    header = _json_part(parts[0])
    if header.get("alg") != "ES256" or "crit" in header:
        raise DeviceFailed("unsigned" if header.get("alg") in (None, "none") else "bad_algorithm")
    signature = _decode(parts[2])
    if len(signature) != _SIGNATURE_BYTES:
        raise DeviceFailed("unsigned" if not signature else "bad_signature")
    _check_signature(public_jwk, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
    body = _json_part(parts[1])
    report = _report(body, token)
    if report.device_id != device_id:
        raise DeviceFailed("wrong_device")
    if report.reported_at > now + rules.max_clock_skew:
        raise DeviceFailed("future")
    if now - report.reported_at > rules.max_report_age:
        raise DeviceFailed("stale")
    return report


def _check_signature(public_jwk: Mapping[str, Any], signed: bytes, signature: bytes) -> None:
    try:
        key = public_key_from_jwk(public_jwk)
    except InvalidInput:
        raise DeviceFailed("bad_key") from None
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise DeviceFailed("bad_signature") from None


def _decode(part: str) -> bytes:
    try:
        return b64url_decode(part)
    except InvalidInput:
        raise DeviceFailed("malformed") from None


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_decode(part))
    except (ValueError, UnicodeDecodeError):
        raise DeviceFailed("malformed") from None
    if not isinstance(value, dict):
        raise DeviceFailed("malformed")
    return value


def _report(body: dict[str, Any], token: str) -> PostureReport:
    texts = [body.get(name) for name in ("device_id", "os", "os_version")]
    flags = [body.get(name) for name in _FLAGS]
    at = body.get("reported_at")
    nonce = body.get("nonce")
    if not all(isinstance(t, str) and 0 < len(t) <= _MAX_TEXT for t in texts):
        raise DeviceFailed("malformed")
    if not all(isinstance(flag, bool) for flag in flags):
        raise DeviceFailed("malformed")
    if isinstance(at, bool) or not isinstance(at, int) or not 0 < at < 2**37:
        raise DeviceFailed("malformed")
    if nonce is not None and not (isinstance(nonce, str) and 0 < len(nonce) <= _MAX_TEXT):
        raise DeviceFailed("malformed")
    report_id = nonce if nonce is not None else hashlib.sha256(token.encode()).hexdigest()
    return PostureReport(
        device_id=str(texts[0]),
        os=str(texts[1]),
        os_version=str(texts[2]),
        disk_encrypted=bool(flags[0]),
        screen_lock=bool(flags[1]),
        firewall=bool(flags[2]),
        reported_at=datetime.fromtimestamp(at, UTC),
        report_id=report_id,
    )
