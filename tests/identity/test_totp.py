"""RFC 6238 / RFC 4226 one-time passwords, checked against the RFCs' own test vectors."""

from __future__ import annotations

import base64
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.errors import InvalidInput
from menshen.identity import totp

DATA = Path(__file__).parent / "data"
KEY = b"12345678901234567890"
NOW = datetime(2026, 1, 5, 9, 0, 15, tzinfo=UTC)  # mid-step, so ±15 s stays in the step


def _load(name: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads((DATA / name).read_text()))


RFC6238 = _load("rfc6238_vectors.json")
RFC4226 = _load("rfc4226_vectors.json")


def _code_at(at: datetime, key: bytes = KEY) -> str:
    return totp.totp_at(key, at)


@pytest.mark.parametrize("vector", RFC6238["vectors"], ids=lambda v: f"{v['mode']}-{v['time']}")
def test_rfc6238_appendix_b_vectors(vector: dict[str, Any]) -> None:
    """Every RFC 6238 Appendix B vector: step and 8-digit code for SHA1/256/512."""
    params = totp.TotpParams(algorithm=vector["mode"], digits=8, period=30)
    key = RFC6238["seeds"][vector["mode"]].encode("ascii")
    at = datetime.fromtimestamp(vector["time"], tz=UTC)
    assert totp.step_at(at, 30) == vector["step"]
    assert totp.totp_at(key, at, params) == vector["totp"]
    assert totp.verify(key, vector["totp"], at, None, params) == vector["step"]


@pytest.mark.parametrize("counter", range(10))
def test_rfc4226_appendix_d_vectors(counter: int) -> None:
    """HOTP values 0-9 from RFC 4226 Appendix D."""
    key = RFC4226["secret"].encode("ascii")
    assert totp.hotp(key, counter) == RFC4226["hotp"][counter]


def test_hotp_refuses_negative_counter() -> None:
    """A negative counter cannot be packed as RFC 4226's 8-byte unsigned value."""
    with pytest.raises(InvalidInput):
        totp.hotp(KEY, -1)


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_verify_accepts_current_step_and_one_either_side(offset: int) -> None:
    """A code from the previous, current or next step is accepted and its step returned."""
    code_time = NOW + timedelta(seconds=offset)
    step = totp.verify(KEY, _code_at(code_time), NOW, None)
    assert step == totp.step_at(code_time)


@pytest.mark.parametrize("offset", [-60, 60, -90, 90])
def test_verify_refuses_codes_two_or_more_steps_away(offset: int) -> None:
    """Codes two steps or more from now are refused."""
    assert totp.verify(KEY, _code_at(NOW + timedelta(seconds=offset)), NOW, None) is None


def test_verify_refuses_a_replayed_step() -> None:
    """A code whose step equals the last used step is refused: each code works once."""
    current = totp.step_at(NOW)
    assert totp.verify(KEY, _code_at(NOW), NOW, current) is None


def test_verify_refuses_a_step_older_than_the_last_used() -> None:
    """After the next step's code was used, the current one is refused."""
    current = totp.step_at(NOW)
    assert totp.verify(KEY, _code_at(NOW), NOW, current + 1) is None


def test_verify_accepts_a_step_after_the_last_used() -> None:
    """With the previous step used, the current code is still good."""
    current = totp.step_at(NOW)
    assert totp.verify(KEY, _code_at(NOW), NOW, current - 1) == current


def test_verify_refuses_a_code_of_another_key() -> None:
    """The right shape is not enough: the code must come from this key."""
    assert totp.verify(b"another key of twenty", _code_at(NOW), NOW, None) is None


@pytest.mark.parametrize(
    "code",
    ["", "12345", "1234567", "12a456", " 123456", "123456 ", "١٢٣٤٥٦", "+12345", "12345\n"],
)
def test_verify_rejects_malformed_codes(code: str) -> None:
    """Wrong length, non-digits, blanks and non-ASCII digits are rejected outright."""
    assert totp.verify(KEY, code, NOW, None) is None


def test_verify_with_eight_digits_and_sha256() -> None:
    """Non-default parameters round-trip; a 6-digit code is malformed for 8-digit params."""
    params = totp.TotpParams(algorithm="SHA256", digits=8)
    code = totp.totp_at(KEY, NOW, params)
    assert len(code) == 8
    assert totp.verify(KEY, code, NOW, None, params) == totp.step_at(NOW)
    assert totp.verify(KEY, code[:6], NOW, None, params) is None


def test_step_at_refuses_naive_datetimes() -> None:
    """A naive datetime has no defined Unix time, so it is refused."""
    with pytest.raises(InvalidInput):
        totp.step_at(datetime(2026, 1, 5, 9, 0))


@pytest.mark.parametrize(
    "kwargs", [{"digits": 7}, {"period": 0}, {"algorithm": "MD5"}], ids=["digits", "period", "alg"]
)
def test_params_refuse_unsupported_values(kwargs: dict[str, Any]) -> None:
    """Only 6 or 8 digits, a positive period and SHA1/256/512 are accepted."""
    with pytest.raises(InvalidInput):
        totp.TotpParams(**kwargs)


def test_generate_secret_is_160_bits_of_the_random_source_in_base32() -> None:
    """The secret is the 20 random bytes, base32 without padding (32 characters)."""
    raw = bytes(range(20))
    secret = totp.generate_secret(lambda n: raw[:n])
    assert len(secret) == 32
    assert "=" not in secret
    assert secret == base64.b32encode(raw).decode()
    assert totp.decode_secret(secret) == raw


def test_generate_secret_refuses_a_short_random_source() -> None:
    """A random source that returns too few bytes is a broken source."""
    with pytest.raises(InvalidInput):
        totp.generate_secret(lambda n: b"short")


def test_decode_secret_tolerates_case_and_spaces() -> None:
    """Users copy secrets by hand: lower case, spaces and missing padding are fine."""
    assert totp.decode_secret("jbsw y3dp ehpk 3pxp") == b"Hello!\xde\xad\xbe\xef"


def test_decode_secret_refuses_non_base32() -> None:
    """Characters outside the base32 alphabet are InvalidInput."""
    with pytest.raises(InvalidInput):
        totp.decode_secret("not base32 at all!")


def test_provisioning_uri_has_the_key_uri_format() -> None:
    """The URI carries label, secret, issuer, algorithm, digits and period."""
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "alice", "Menshen")
    assert uri == (
        "otpauth://totp/Menshen:alice?secret=JBSWY3DPEHPK3PXP&issuer=Menshen"
        "&algorithm=SHA1&digits=6&period=30"
    )


def test_provisioning_uri_percent_encodes_issuer_and_account() -> None:
    """Spaces, '&', '/', '?' and non-ASCII are percent-encoded and round-trip."""
    issuer = "Bank & Co/台北 ?"
    account = "alice+ops@example.com"
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", account, issuer)
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth"
    assert parts.netloc == "totp"
    assert " " not in uri
    assert "台" not in uri
    label_issuer, label_account = parts.path.lstrip("/").split(":")
    assert unquote(label_issuer) == issuer
    assert unquote(label_account) == account
    query = parse_qs(parts.query)
    assert query["issuer"] == [issuer]
    assert query["secret"] == ["JBSWY3DPEHPK3PXP"]


@pytest.mark.parametrize(
    ("account", "issuer"), [("a:b", "Menshen"), ("alice", "Men:shen"), ("", "M")]
)
def test_provisioning_uri_refuses_colons_and_empty_parts(account: str, issuer: str) -> None:
    """':' separates issuer from account in the label, so neither may contain one."""
    with pytest.raises(InvalidInput):
        totp.provisioning_uri("JBSWY3DPEHPK3PXP", account, issuer)


def test_qr_svg_renders_an_svg_that_depends_on_the_uri() -> None:
    """The enrolment QR code is inline SVG, different for different URIs."""
    first = totp.qr_svg("otpauth://totp/Menshen:alice?secret=AAAA")
    second = totp.qr_svg("otpauth://totp/Menshen:bob?secret=BBBB")
    assert first.startswith("<svg")
    assert first.rstrip().endswith("</svg>")
    assert first != second


@given(key=st.binary(min_size=10, max_size=64), seconds=st.integers(0, 2**33))
def test_any_generated_code_verifies_at_its_own_step(key: bytes, seconds: int) -> None:
    """For any key and time, the code shown verifies to that time's step."""
    at = datetime.fromtimestamp(seconds, tz=UTC)
    assert totp.verify(key, totp.totp_at(key, at), at, None) == totp.step_at(at)


@given(code=st.text(max_size=12))
def test_verify_never_raises_on_arbitrary_text(code: str) -> None:
    """Whatever a client types, verify answers with a step or None and never raises."""
    result = totp.verify(KEY, code, NOW, None)
    if result is not None:
        assert re.fullmatch(r"[0-9]{6}", code, flags=re.ASCII)


def test_verify_matches_roughly_one_in_a_million_random_codes() -> None:
    """Sanity: random six-digit guesses (a fixed sample) do not verify."""
    rng = random.Random(6238)
    guesses = {f"{rng.randrange(10**6):06d}" for _ in range(200)}
    window = {_code_at(NOW + timedelta(seconds=s)) for s in (-30, 0, 30)}
    for guess in guesses - window:
        assert totp.verify(KEY, guess, NOW, None) is None
