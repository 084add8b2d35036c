"""Sealing secrets at rest: AES-256-GCM with a versioned envelope (NIST SP 800-38D).

``SecretBox`` is the one recipe the rest of menshen uses to keep a secret in the store (TOTP
seeds, assertion signing keys). The envelope is::

    version (1 byte) || nonce (12 bytes, random) || ciphertext || tag (16 bytes)

The version byte is authenticated too (it is prepended to the associated data), so a sealed
value cannot be replayed under another format. Random 96-bit nonces follow SP 800-38D §8.2.2;
with one key per installation the number of seals stays far below the 2^32 bound.

Callers bind a sealed value to where it lives through ``associated_data`` (for instance the
tenant and row id), so a ciphertext copied into another row fails to open.

``load_or_create_master_key`` keeps the master key in a file only its owner can read.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from menshen.errors import ConfigError, InvalidInput

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
FORMAT_V1 = 1

RandomBytes = Callable[[int], bytes]


class SecretBox:
    """Authenticated encryption of small secrets under one 256-bit key."""

    __slots__ = ("_aead", "_random")

    def __init__(self, key: bytes, *, random_bytes: RandomBytes = secrets.token_bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigError(f"the master key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self._random = random_bytes

    def seal(self, plain: bytes, associated_data: bytes = b"") -> bytes:
        """Encrypt and authenticate ``plain``; ``associated_data`` must be given again to open."""
        nonce = self._random(NONCE_BYTES)
        if len(nonce) != NONCE_BYTES:
            raise ConfigError("the nonce source returned the wrong number of bytes")
        header = bytes([FORMAT_V1])
        body = self._aead.encrypt(nonce, plain, header + associated_data)
        return header + nonce + body

    def open(self, sealed: bytes, associated_data: bytes = b"") -> bytes:
        """Decrypt a value made by ``seal``; ``InvalidInput`` on any change or wrong data."""
        if len(sealed) < 1 + NONCE_BYTES + TAG_BYTES or sealed[0] != FORMAT_V1:
            raise InvalidInput("sealed value is malformed")
        header = sealed[:1]
        nonce = sealed[1 : 1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], header + associated_data)
        except InvalidTag:
            raise InvalidInput("sealed value failed authentication") from None


def load_or_create_master_key(
    path: Path, *, random_bytes: RandomBytes = secrets.token_bytes
) -> bytes:
    """Read the 32-byte master key at ``path``, creating it (mode 0600) on first start.

    A key file that group or others may read or write is refused (``ConfigError``): the key
    opens every sealed secret, so a loose mode is treated as a leak, not fixed silently.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    encoded = base64.b64encode(random_bytes(KEY_BYTES)) + b"\n"
    # Write a private temporary file, then hard-link it into place: the key appears whole
    # or not at all, and a concurrent first start keeps whichever key won the link.
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(encoded)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("the master key is not a regular file", source=str(path))
        if info.st_mode & 0o077:
            raise ConfigError(
                f"the master key file has mode {stat.S_IMODE(info.st_mode):o}; "
                "it must not be accessible by group or others (chmod 600)",
                source=str(path),
            )
        data = os.read(fd, 1024)
    finally:
        os.close(fd)
    try:
        key = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("the master key file is not base64", source=str(path)) from None
    if len(key) != KEY_BYTES:
        raise ConfigError(f"the master key must be {KEY_BYTES} bytes", source=str(path))
    return key
