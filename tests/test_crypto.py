"""Sealing secrets at rest (AES-256-GCM envelope) and the master key file."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from menshen.crypto import SecretBox, load_or_create_master_key
from menshen.errors import ConfigError, InvalidInput

KEY = bytes(range(32))


def test_seal_then_open_returns_the_plaintext() -> None:
    """What is sealed opens again with the same key and associated data."""
    box = SecretBox(KEY)
    sealed = box.seal(b"JBSWY3DPEHPK3PXP", b"t1/totp/u1")
    assert box.open(sealed, b"t1/totp/u1") == b"JBSWY3DPEHPK3PXP"


def test_sealed_value_has_the_versioned_layout() -> None:
    """version byte, 12-byte nonce, ciphertext and 16-byte tag."""
    box = SecretBox(KEY, random_bytes=lambda n: b"\x07" * n)
    sealed = box.seal(b"secret")
    assert sealed[0] == 1
    assert sealed[1:13] == b"\x07" * 12
    assert len(sealed) == 1 + 12 + len(b"secret") + 16
    assert b"secret" not in sealed


def test_each_seal_uses_a_fresh_nonce() -> None:
    """Sealing the same value twice gives different bytes."""
    box = SecretBox(KEY)
    assert box.seal(b"same") != box.seal(b"same")


def test_any_changed_byte_fails_to_open() -> None:
    """Flipping any single bit of the envelope is detected."""
    box = SecretBox(KEY)
    sealed = box.seal(b"settlement-db-password")
    for index in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        with pytest.raises(InvalidInput):
            box.open(bytes(tampered))


def test_wrong_associated_data_fails_to_open() -> None:
    """A value sealed for one row does not open as another row's."""
    box = SecretBox(KEY)
    sealed = box.seal(b"seed", b"t1/u1")
    with pytest.raises(InvalidInput):
        box.open(sealed, b"t2/u1")
    with pytest.raises(InvalidInput):
        box.open(sealed)


def test_another_key_fails_to_open() -> None:
    """A different master key cannot open the value."""
    sealed = SecretBox(KEY).seal(b"seed")
    with pytest.raises(InvalidInput):
        SecretBox(bytes(32)).open(sealed)


@pytest.mark.parametrize("sealed", [b"", b"\x01", b"\x01" + bytes(27), b"\x02" + bytes(40)])
def test_truncated_or_unknown_version_fails_to_open(sealed: bytes) -> None:
    """Short values and unknown versions are refused, not guessed at."""
    with pytest.raises(InvalidInput):
        SecretBox(KEY).open(sealed)


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_box_refuses_a_key_of_the_wrong_size(size: int) -> None:
    """Only 256-bit keys are accepted."""
    with pytest.raises(ConfigError):
        SecretBox(bytes(size))


def test_master_key_is_created_private_and_reused(tmp_path: Path) -> None:
    """First start writes a 0600 file; later starts read the same key."""
    path = tmp_path / "keys" / "master.key"
    key = load_or_create_master_key(path, random_bytes=lambda n: b"\x05" * n)
    assert key == b"\x05" * 32
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert base64.b64decode(path.read_bytes()) == key
    assert load_or_create_master_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_master_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    """A key file open to group or others is a configuration error."""
    path = tmp_path / "master.key"
    load_or_create_master_key(path)
    path.chmod(mode)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_master_key(path)


@pytest.mark.parametrize(
    "content", [b"not base64!!", base64.b64encode(bytes(16)), base64.b64encode(bytes(33)), b""]
)
def test_master_key_file_with_bad_content_is_refused(tmp_path: Path, content: bytes) -> None:
    """A corrupt key file stops start-up instead of being replaced."""
    path = tmp_path / "master.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(ConfigError):
        load_or_create_master_key(path)
    assert path.read_bytes() == content


def test_master_key_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    """Only a regular file can hold the key."""
    path = tmp_path / "master.key"
    path.mkdir(mode=0o700)
    with pytest.raises(ConfigError):
        load_or_create_master_key(path)
