"""The session cookie: opaque, strictly parsed, never half-trusted."""

from __future__ import annotations

import pytest

from menshen.sessions.cookies import (
    HTTP_COOKIE,
    HTTPS_COOKIE,
    cookie_name,
    new_token,
    read_cookie,
    set_cookie,
    token_hash,
)


def _token() -> str:
    return new_token(lambda n: b"\x07" * n)


def test_https_cookie_uses_the_host_prefix_and_flags() -> None:
    """On HTTPS the cookie is __Host- prefixed, Secure, HttpOnly, SameSite=Lax, Path=/."""
    name = cookie_name("https")
    header = set_cookie(name, _token(), secure=True, max_age=None)
    assert name == HTTPS_COOKIE
    assert name.startswith("__Host-")
    assert "Secure" in header
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/" in header
    assert "Domain" not in header


def test_plain_http_cookie_has_no_prefix() -> None:
    """Browsers reject __Host- cookies without Secure, so plain HTTP uses another name."""
    assert cookie_name("http") == HTTP_COOKIE


@pytest.mark.parametrize(
    "header",
    [
        f"{HTTP_COOKIE}=abc",  # truncated
        f"{HTTP_COOKIE}={_token()[:-1]}",  # one character short
        f"{HTTP_COOKIE}={_token()}x",  # one too many
        f"{HTTP_COOKIE}={_token()[:-2]}==",  # padding / invalid base64
        f"{HTTP_COOKIE}={_token()[:-1]}!",  # outside the alphabet
        f"{HTTP_COOKIE}={_token()}; {HTTP_COOKIE}={_token()}",  # duplicated
        f"other={_token()}",
        "",
    ],
)
def test_malformed_or_ambiguous_cookies_are_no_session(header: str) -> None:
    """Tampered, truncated, invalid or duplicated cookies yield no token at all."""
    assert read_cookie([header], HTTP_COOKIE) is None


def test_a_well_formed_cookie_is_read_among_others() -> None:
    """The session cookie is found among the app's own cookies."""
    token = _token()
    assert read_cookie([f"a=1; {HTTP_COOKIE}={token}; b=2"], HTTP_COOKIE) == token


def test_the_store_keeps_only_a_hash() -> None:
    """The token hash is a SHA-256 hex digest that differs from the token."""
    token = _token()
    assert len(token_hash(token)) == 64
    assert token not in token_hash(token)
