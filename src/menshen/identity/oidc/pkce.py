"""Proof Key for Code Exchange with S256 only (RFC 7636 §4.1–4.2), plus state and nonce values.

Randomness comes in as a ``RandomBytes`` callable (``secrets.token_bytes`` in production).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

__all__ = ["RandomBytes", "code_challenge_s256", "random_token"]

RandomBytes = Callable[[int], bytes]

# 32 random bytes give a 43-character verifier, RFC 7636 §4.1's minimum length and
# the recommended construction.
_TOKEN_BYTES = 32


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def random_token(random_bytes: RandomBytes) -> str:
    """A 256-bit unguessable value in base64url: a PKCE verifier, a state or a nonce."""
    raw = random_bytes(_TOKEN_BYTES)
    if len(raw) != _TOKEN_BYTES:
        raise ValueError("random source returned the wrong number of bytes")
    return _b64url(raw)


def code_challenge_s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))), RFC 7636 §4.2."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
