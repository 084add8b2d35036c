"""The return URL after sign-in never leaves the current origin (iap.md §1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.access.returnto import ReturnSigner, safe_return_path

HOST = {"scheme": "https", "host": "apps.formosapay.example", "port": 443}

OPEN_REDIRECTS = [
    "//evil.example",
    "//evil.example/x",
    "/\\evil.example",
    "/\\/evil.example",
    "/ /evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/./../../\\evil.example",
    "https://legit@evil.example",
    "https://apps.formosapay.example@evil.example/",
    "https://apps.formosapay.example:8443/",
    "http://apps.formosapay.example/",
    "https://evil.example/",
    "https://apps.formosapay.example.evil.example/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,hi",
    "evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/%252F/evil.example",
    "/%09/evil.example",
    "\\\\evil.example",
    "",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("value", OPEN_REDIRECTS)
def test_open_redirect_attempts_are_refused(value: str) -> None:
    """Every way to name another origin is refused."""
    assert safe_return_path(value, **HOST) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/settlement/batches", "/settlement/batches"),
        ("/wiki/page?id=3&x=%2F", "/wiki/page?id=3&x=%2F"),
        ("https://apps.formosapay.example/wiki/", "/wiki/"),
        ("https://apps.formosapay.example:443/wiki/?a=1", "/wiki/?a=1"),
        ("/wiki/#section", "/wiki/"),
    ],
)
def test_local_paths_are_kept(value: str, expected: str) -> None:
    """Plain local paths, and absolute URLs of this exact origin, are accepted."""
    assert safe_return_path(value, **HOST) == expected  # type: ignore[arg-type]


@given(st.text(max_size=80))
def test_any_accepted_value_is_a_single_slash_path(value: str) -> None:
    """Whatever is accepted starts with one slash and carries no backslash or control char."""
    result = safe_return_path(value, **HOST)  # type: ignore[arg-type]
    if result is not None:
        assert result.startswith("/")
        assert not result.startswith("//")
        assert "\\" not in result
        assert all(ord(ch) > 0x20 for ch in result)


def test_signature_binds_the_return_path() -> None:
    """An altered return path fails the signature check."""
    signer = ReturnSigner(b"k" * 32)
    signature = signer.sign("/wiki/")
    assert signer.check("/wiki/", signature)
    assert not signer.check("/settlement/", signature)
    assert not signer.check("/wiki/", signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    assert not ReturnSigner(b"x" * 32).check("/wiki/", signature)
