"""Time-based one-time passwords: RFC 6238 (TOTP) over RFC 4226 (HOTP).

* ``hotp`` is RFC 4226 §5.3: HMAC over the 8-byte big-endian counter, dynamic truncation,
  modulo 10^digits.
* ``step_at`` is RFC 6238 §4.2: T = floor((unix time - T0) / X) with T0 = 0.
* ``verify`` accepts the current step and one step either side (RFC 6238 §5.2 allows "at
  most one time step" of network delay; we allow clock skew both ways) and refuses any step
  at or before the last one used, so each code works once (RFC 6238 §5.2, RFC 4226 §7.2).
* ``provisioning_uri`` writes the de-facto ``otpauth://`` Key URI Format
  (github.com/google/google-authenticator/wiki/Key-Uri-Format).

Secrets are 160 bits, the length RFC 4226 §4 R6 recommends, base32 without padding.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import quote

import segno

from menshen.errors import InvalidInput

__all__ = [
    "DEFAULT_PARAMS",
    "SECRET_BYTES",
    "TotpParams",
    "decode_secret",
    "encode_secret",
    "generate_secret",
    "hotp",
    "provisioning_uri",
    "qr_svg",
    "step_at",
    "totp_at",
    "verify",
]

Algorithm = Literal["SHA1", "SHA256", "SHA512"]

SECRET_BYTES = 20
"""160-bit secrets (RFC 4226 §4 R6)."""

_DIGESTS: dict[str, str] = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}


@dataclass(frozen=True, slots=True)
class TotpParams:
    """Algorithm, code length and step length. The defaults are what every app supports."""

    algorithm: Algorithm = "SHA1"
    digits: int = 6
    period: int = 30

    def __post_init__(self) -> None:
        if self.algorithm not in _DIGESTS:
            raise InvalidInput(f"unsupported TOTP algorithm {self.algorithm!r}")
        if self.digits not in (6, 8):
            raise InvalidInput("TOTP codes have 6 or 8 digits")
        if self.period < 1:
            raise InvalidInput("TOTP period must be a positive number of seconds")


DEFAULT_PARAMS = TotpParams()


def hotp(key: bytes, counter: int, *, digits: int = 6, algorithm: Algorithm = "SHA1") -> str:
    """RFC 4226 §5.3: the ``digits``-digit code for ``counter``, zero-padded."""
    if counter < 0:
        raise InvalidInput("HOTP counter must not be negative")
    mac = hmac.new(key, struct.pack(">Q", counter), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def step_at(at: datetime, period: int = 30) -> int:
    """RFC 6238 §4.2: the time step containing ``at`` (which must be timezone-aware)."""
    if at.tzinfo is None:
        raise InvalidInput("TOTP needs an aware datetime")
    return int(at.timestamp()) // period


def totp_at(key: bytes, at: datetime, params: TotpParams = DEFAULT_PARAMS) -> str:
    """The code an authenticator app shows at ``at``."""
    return hotp(key, step_at(at, params.period), digits=params.digits, algorithm=params.algorithm)


def verify(
    key: bytes,
    code: str,
    at: datetime,
    last_used_step: int | None,
    params: TotpParams = DEFAULT_PARAMS,
) -> int | None:
    """The step ``code`` belongs to (current ±1, later than ``last_used_step``), else None.

    ``code`` must be exactly ``params.digits`` ASCII digits; callers strip user formatting
    (spaces) first. Every candidate is compared in constant time.
    """
    if not _well_formed(code, params.digits):
        return None
    current = step_at(at, params.period)
    expected = code.encode("ascii")
    matched: int | None = None
    for step in (current - 1, current, current + 1):
        if step < 0 or (last_used_step is not None and step <= last_used_step):
            continue
        candidate = hotp(key, step, digits=params.digits, algorithm=params.algorithm)
        # No early exit: the work done does not depend on which step matched.
        if hmac.compare_digest(candidate.encode("ascii"), expected) and matched is None:
            matched = step
    return matched


def _well_formed(code: str, digits: int) -> bool:
    return re.fullmatch(rf"[0-9]{{{digits}}}", code, flags=re.ASCII) is not None


def generate_secret(random: Callable[[int], bytes]) -> str:
    """A fresh 160-bit secret as upper-case base32 without padding."""
    key = random(SECRET_BYTES)
    if len(key) != SECRET_BYTES:
        raise InvalidInput("random source returned the wrong number of bytes")
    return encode_secret(key)


def encode_secret(key: bytes) -> str:
    """Base32 (RFC 4648 §6) without ``=`` padding, as authenticator apps expect."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def decode_secret(secret: str) -> bytes:
    """The key bytes of a base32 secret; tolerant of case, spaces and missing padding."""
    text = secret.replace(" ", "").upper()
    text += "=" * (-len(text) % 8)
    try:
        return base64.b32decode(text)
    except (binascii.Error, ValueError):
        raise InvalidInput("TOTP secret is not valid base32") from None


def provisioning_uri(
    secret: str, account: str, issuer: str, params: TotpParams = DEFAULT_PARAMS
) -> str:
    """The ``otpauth://totp/Issuer:account?...`` URI an authenticator app scans."""
    if not account or not issuer:
        raise InvalidInput("account and issuer must not be empty")
    if ":" in account or ":" in issuer:
        # The Key URI Format uses ':' to separate issuer from account in the label.
        raise InvalidInput("account and issuer must not contain ':'")
    label = f"{quote(issuer, safe='')}:{quote(account, safe='@')}"
    query = "&".join(
        [
            f"secret={quote(secret, safe='')}",
            f"issuer={quote(issuer, safe='')}",
            f"algorithm={params.algorithm}",
            f"digits={params.digits}",
            f"period={params.period}",
        ]
    )
    return f"otpauth://totp/{label}?{query}"


def qr_svg(uri: str) -> str:
    """An inline SVG QR code (error correction level M) for the enrolment page."""
    return str(segno.make_qr(uri, error="m").svg_inline(scale=4, title="TOTP enrolment"))
