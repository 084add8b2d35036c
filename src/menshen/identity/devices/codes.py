"""Enrolment codes: what a signed-in user types into the device agent, once.

NIST SP 800-63B §5.1.1.2 (look-up secrets: at least 64 bits from an approved random source,
stored hashed, used once). A code is 80 random bits written as 16 characters of Crockford's
base32 (no I, L, O or U, so nothing reads as another character) in groups of four. Reading
is forgiving: case, spaces and dashes are ignored and the look-alikes O/I/L read as 0/1/1.
The store keeps only the SHA-256 of the normalised code; a fast hash is enough for 80 bits
that live for minutes.
"""

from __future__ import annotations

import hashlib

from menshen.crypto import RandomBytes

__all__ = ["CODE_LENGTH", "code_hash", "new_code", "normalise_code"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
_BYTES = 10
CODE_LENGTH = 16


def new_code(random_bytes: RandomBytes) -> str:
    """A fresh code, grouped for reading: ``7K3M-Q9TD-2HXP-W4RB``."""
    number = int.from_bytes(random_bytes(_BYTES), "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    plain = "".join(reversed(chars))
    return "-".join(plain[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(typed: str) -> str | None:
    """The code as stored before hashing, or None if ``typed`` cannot be one."""
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    plain = typed.upper().translate(_LOOK_ALIKES)
    if len(plain) != CODE_LENGTH or any(char not in _ALPHABET for char in plain):
        return None
    return plain


def code_hash(normalised: str) -> str:
    """What the store keeps of a code (hex SHA-256)."""
    return hashlib.sha256(f"menshen-device-enrolment:{normalised}".encode("ascii")).hexdigest()
