"""Recovery codes: ten single-use 80-bit codes, stored as SHA-256 of the normalised code."""

from __future__ import annotations

import base64
import hashlib
import random
import re

import pytest

from menshen.errors import InvalidInput
from menshen.identity import recovery


def test_ten_codes_in_four_groups_of_four() -> None:
    """Ten codes shaped xxxx-xxxx-xxxx-xxxx in lower-case base32."""
    plain, hashes = recovery.generate_codes(random.Random(1).randbytes)
    assert len(plain) == len(hashes) == 10
    for code in plain:
        assert re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code)


def test_each_code_is_eighty_bits_of_the_random_source() -> None:
    """A code decodes back to exactly the 10 bytes drawn for it."""
    draws: list[bytes] = []
    rng = random.Random(7)

    def source(n: int) -> bytes:
        draws.append(rng.randbytes(n))
        return draws[-1]

    plain, _ = recovery.generate_codes(source)
    assert [len(d) for d in draws] == [10] * 10
    decoded = [base64.b32decode(code.replace("-", "").upper()) for code in plain]
    assert decoded == draws


def test_hashes_are_sha256_hex_of_the_normalised_codes_in_order() -> None:
    """hashes[i] is SHA-256 hex of plain[i] without dashes."""
    plain, hashes = recovery.generate_codes(random.Random(2).randbytes)
    for code, code_hash in zip(plain, hashes, strict=True):
        assert code_hash == hashlib.sha256(code.replace("-", "").encode()).hexdigest()


@pytest.mark.parametrize(
    "typed",
    [" ABCD-EFGH-IJKL-MNOP ", "abcd efgh ijkl mnop", "abcdefghijklmnop", "AbCd-EfGh ijkl-mnop"],
)
def test_formatting_does_not_change_the_hash(typed: str) -> None:
    """Case, dashes and blanks the user types are dropped before hashing."""
    assert recovery.hash_code(typed) == recovery.hash_code("abcd-efgh-ijkl-mnop")


def test_different_codes_hash_differently() -> None:
    """Normalisation keeps the characters that matter."""
    assert recovery.hash_code("abcd-efgh-ijkl-mnop") != recovery.hash_code("abcd-efgh-ijkl-mnoq")


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("abcd-efgh-ijkl-mnop", True),
        ("ABCD EFGH IJKL MNOP", True),
        ("abcd-efgh-ijkl-mno", False),
        ("abcd-efgh-ijkl-mnop2", False),
        ("abcd-efgh-ijkl-mn0p", False),  # 0 is not base32
        ("", False),
        ("abcd_efgh_ijkl_mnop", False),
    ],
)
def test_well_formed_codes(code: str, ok: bool) -> None:
    """Only 16 base32 characters (after normalising) could have been issued."""
    assert recovery.is_well_formed(code) is ok


def test_a_repeating_random_source_is_refused() -> None:
    """A source that repeats itself would issue one code twice: refuse."""
    with pytest.raises(InvalidInput):
        recovery.generate_codes(lambda n: b"\x00" * n)


def test_a_short_random_source_is_refused() -> None:
    """Too few bytes would mean a weak code: refuse."""
    with pytest.raises(InvalidInput):
        recovery.generate_codes(lambda n: b"\x01")
