"""Argon2id password hashing: OWASP parameters, safe verification, rehash detection."""

from __future__ import annotations

import random

import pytest

from menshen.errors import InvalidInput
from menshen.identity.passwords import OWASP_PARAMS, PasswordCheck, PasswordHasher, PasswordParams

CHEAP = PasswordParams(memory_kib=64, time_cost=1)
STRONGER = PasswordParams(memory_kib=128, time_cost=2)


def _seeded(seed: int) -> PasswordHasher:
    rng = random.Random(seed)
    return PasswordHasher(CHEAP, random=rng.randbytes)


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(CHEAP)


def test_default_parameters_are_the_owasp_minimum() -> None:
    """Argon2id with m=19 MiB (19456 KiB), t=2, p=1, as the OWASP cheat sheet says."""
    assert (OWASP_PARAMS.memory_kib, OWASP_PARAMS.time_cost, OWASP_PARAMS.parallelism) == (
        19456,
        2,
        1,
    )
    assert (
        PasswordHasher().hash("correct horse battery").startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    )


def test_a_hash_verifies_its_own_password(hasher: PasswordHasher) -> None:
    """The right password is ok and, with unchanged parameters, needs no rehash."""
    stored = hasher.hash("correct horse battery")
    assert hasher.verify(stored, "correct horse battery") == PasswordCheck(ok=True)


def test_a_wrong_password_is_not_ok(hasher: PasswordHasher) -> None:
    """A different password gives ok=False, not an exception."""
    stored = hasher.hash("correct horse battery")
    assert hasher.verify(stored, "correct horse batterz") == PasswordCheck(ok=False)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not a hash",
        "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA",
        "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
    ],
)
def test_a_garbage_stored_hash_is_not_ok_and_does_not_raise(
    hasher: PasswordHasher, garbage: str
) -> None:
    """Corrupt, truncated or foreign hashes fail closed with ok=False."""
    assert hasher.verify(garbage, "anything at all") == PasswordCheck(ok=False)


def test_a_hash_with_weaker_parameters_needs_rehash() -> None:
    """Verifying an old, weaker hash with stronger parameters asks for a rehash."""
    stored = PasswordHasher(CHEAP).hash("correct horse battery")
    check = PasswordHasher(STRONGER).verify(stored, "correct horse battery")
    assert check == PasswordCheck(ok=True, needs_rehash=True)


def test_a_wrong_password_never_asks_for_rehash() -> None:
    """needs_rehash is only reported for a verified password."""
    stored = PasswordHasher(CHEAP).hash("correct horse battery")
    assert PasswordHasher(STRONGER).verify(stored, "wrong").needs_rehash is False


def test_the_salt_comes_from_the_injected_random_source() -> None:
    """Same random stream, same hash; another stream, another salt and hash."""
    assert _seeded(1).hash("pw") == _seeded(1).hash("pw")
    assert _seeded(1).hash("pw") != _seeded(2).hash("pw")


def test_a_short_random_source_is_refused() -> None:
    """A salt source that returns too few bytes is a broken source, not a short salt."""
    with pytest.raises(InvalidInput):
        PasswordHasher(CHEAP, random=lambda n: b"x")


def test_compatibility_forms_of_a_password_verify_alike(hasher: PasswordHasher) -> None:
    """NFKC: full-width letters and decomposed accents verify as their plain forms."""
    stored = hasher.hash("café password")
    assert hasher.verify(stored, "cafe\u0301 password").ok
    assert hasher.verify(stored, "ｃａｆé ｐａｓｓｗｏｒｄ").ok
    assert not hasher.verify(stored, "cafe password").ok


def test_a_lone_surrogate_cannot_be_hashed_and_never_verifies(hasher: PasswordHasher) -> None:
    """Text that is not valid Unicode is InvalidInput to hash and ok=False to verify."""
    with pytest.raises(InvalidInput):
        hasher.hash("bad \ud800 text")
    stored = hasher.hash("good text here")
    assert hasher.verify(stored, "bad \ud800 text") == PasswordCheck(ok=False)


def test_dummy_verify_runs_without_raising(hasher: PasswordHasher) -> None:
    """The timing equaliser completes quietly (the service tests check it is called)."""
    hasher.dummy_verify()


@pytest.mark.parametrize(
    "kwargs",
    [{"time_cost": 0}, {"parallelism": 0}, {"memory_kib": 4}, {"hash_len": 8}, {"salt_len": 8}],
)
def test_parameters_below_sane_floors_are_refused(kwargs: dict[str, int]) -> None:
    """Parameters argon2 cannot use, or too weak to mean anything, are InvalidInput."""
    with pytest.raises(InvalidInput):
        PasswordParams(**kwargs)
