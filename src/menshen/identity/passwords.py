"""Password hashing with Argon2id (RFC 9106).

Parameters follow the OWASP Password Storage Cheat Sheet ("Use Argon2id with a minimum
configuration of 19 MiB of memory, an iteration count of 2, and 1 degree of parallelism"),
https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html.

Passwords are normalised to Unicode NFKC before hashing, as NIST SP 800-63B §5.1.1.2
recommends, so that the same password typed on different keyboards verifies.

Verification never raises on a wrong password or a garbage stored hash: it answers with a
``PasswordCheck`` value. ``dummy_verify`` spends the same time as a real verification, so
that an unknown username cannot be told apart from a wrong password by timing.
"""

from __future__ import annotations

import contextlib
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import argon2
from argon2.exceptions import Argon2Error, InvalidHashError, UnsupportedParametersError

from menshen.errors import InvalidInput

__all__ = ["OWASP_PARAMS", "PasswordCheck", "PasswordHasher", "PasswordParams"]


@dataclass(frozen=True, slots=True)
class PasswordParams:
    """Argon2id cost parameters; ``memory_kib`` is in kibibytes (19456 KiB = 19 MiB)."""

    memory_kib: int = 19456
    time_cost: int = 2
    parallelism: int = 1
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        # argon2 itself requires memory >= 8 * parallelism KiB; the rest are sanity floors.
        if self.parallelism < 1 or self.time_cost < 1:
            raise InvalidInput("argon2 time_cost and parallelism must be at least 1")
        if self.memory_kib < 8 * self.parallelism:
            raise InvalidInput("argon2 memory_kib must be at least 8 * parallelism")
        if self.hash_len < 16 or self.salt_len < 16:
            raise InvalidInput("argon2 hash_len and salt_len must be at least 16 bytes")


OWASP_PARAMS = PasswordParams()
"""The OWASP minimum for Argon2id: m=19 MiB, t=2, p=1."""


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of a verification. ``needs_rehash`` is only ever true when ``ok`` is."""

    ok: bool
    needs_rehash: bool = False


def _encode(password: str) -> bytes:
    """NFKC-normalise and encode; raises UnicodeEncodeError on lone surrogates."""
    return unicodedata.normalize("NFKC", password).encode("utf-8")


class PasswordHasher:
    """Argon2id hashing with fixed parameters; immutable, so safe to share across threads."""

    def __init__(
        self,
        params: PasswordParams = OWASP_PARAMS,
        *,
        random: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.params = params
        self._random = random
        self._argon = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=params.hash_len,
            salt_len=params.salt_len,
            type=argon2.Type.ID,
        )
        # Computed once with the current parameters, so a dummy verification costs exactly
        # what a real one does.
        self._dummy_hash = self.hash(random(16).hex())

    def hash(self, password: str) -> str:
        """The PHC string (``$argon2id$v=19$m=...``) for ``password`` with a fresh salt."""
        try:
            secret = _encode(password)
        except UnicodeEncodeError:
            raise InvalidInput("password is not valid Unicode text") from None
        salt = self._random(self.params.salt_len)
        if len(salt) != self.params.salt_len:
            raise InvalidInput("random source returned the wrong number of bytes")
        return self._argon.hash(secret, salt=salt)

    def verify(self, stored_hash: str, password: str) -> PasswordCheck:
        """Check ``password`` against ``stored_hash``; never raises for a mismatch or garbage."""
        try:
            secret = _encode(password)
        except UnicodeEncodeError:
            self.dummy_verify()
            return PasswordCheck(ok=False)
        try:
            self._argon.verify(stored_hash, secret)
        except (Argon2Error, InvalidHashError, UnsupportedParametersError):
            return PasswordCheck(ok=False)
        try:
            stale = self._argon.check_needs_rehash(stored_hash)
        except (InvalidHashError, UnsupportedParametersError):
            stale = True
        return PasswordCheck(ok=True, needs_rehash=stale)

    def dummy_verify(self) -> None:
        """Spend one verification's worth of time on nothing (unknown user, locked account)."""
        with contextlib.suppress(Argon2Error):
            self._argon.verify(self._dummy_hash, b"never the dummy password")
