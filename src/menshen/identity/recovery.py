"""Single-use recovery codes (NIST SP 800-63B §5.1.2, look-up secrets).

Each code carries 80 bits from the random source — NIST SP 800-63B §5.1.2.1 asks for at
least 20 bits when the verifier is rate-limited; we take far more so that an unsalted
SHA-256 of the code is safe to store (no offline guessing is feasible at 2^80).

Codes read as ``xxxx-xxxx-xxxx-xxxx`` in lower-case base32 (RFC 4648 §6), which avoids
0/O and 1/l confusions. Users may type them with or without dashes, spaces or capitals;
``normalise`` removes that formatting before hashing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

from menshen.errors import InvalidInput

__all__ = ["CODE_BYTES", "CODE_COUNT", "generate_codes", "hash_code", "is_well_formed", "normalise"]

CODE_COUNT = 10
CODE_BYTES = 10  # 80 bits -> exactly 16 base32 characters
_CODE_CHARS = 16
_GROUP = 4
_SHAPE = re.compile(r"[a-z2-7]{16}", flags=re.ASCII)


def normalise(code: str) -> str:
    """Strip, lower-case, and drop dashes and spaces."""
    return code.strip().lower().replace("-", "").replace(" ", "")


def is_well_formed(code: str) -> bool:
    """True when the normalised code could have been issued (16 base32 characters)."""
    return _SHAPE.fullmatch(normalise(code)) is not None


def hash_code(code: str) -> str:
    """SHA-256 hex of the normalised code: the form stored in ``RecoveryCodeRecord``."""
    return hashlib.sha256(normalise(code).encode("utf-8")).hexdigest()


def _one_code(random: Callable[[int], bytes]) -> str:
    raw = random(CODE_BYTES)
    if len(raw) != CODE_BYTES:
        raise InvalidInput("random source returned the wrong number of bytes")
    text = base64.b32encode(raw).decode("ascii").lower()
    return "-".join(text[i : i + _GROUP] for i in range(0, _CODE_CHARS, _GROUP))


def generate_codes(
    random: Callable[[int], bytes], count: int = CODE_COUNT
) -> tuple[list[str], list[str]]:
    """``count`` fresh codes to show once, and their hashes to store (same order)."""
    plain = [_one_code(random) for _ in range(count)]
    if len(set(plain)) != len(plain):
        # Only a broken random source repeats 80-bit values; refuse rather than issue
        # two codes that are really one.
        raise InvalidInput("random source repeated itself")
    return plain, [hash_code(code) for code in plain]
