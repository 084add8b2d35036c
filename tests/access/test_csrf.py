"""CSRF tokens are bound to their cookie or session and to their purpose."""

from __future__ import annotations

from menshen.access.csrf import CsrfTokens, same_origin


def test_token_binds_purpose_and_binding() -> None:
    """A token for one form or session does not work for another."""
    tokens = CsrfTokens(b"k" * 32)
    token = tokens.token("cookie-1", "login")
    assert tokens.check("cookie-1", "login", token)
    assert not tokens.check("cookie-2", "login", token)
    assert not tokens.check("cookie-1", "logout", token)
    assert not tokens.check(None, "login", token)
    assert not tokens.check("cookie-1", "login", None)
    assert not tokens.check("cookie-1", "login", "")


def test_origin_must_be_this_exact_origin() -> None:
    """Another host, scheme or port in Origin is refused; a missing Origin is allowed."""
    here = {"scheme": "https", "host": "a.example", "port": 443}
    assert same_origin(None, **here)  # type: ignore[arg-type]
    assert same_origin("https://a.example", **here)  # type: ignore[arg-type]
    assert not same_origin("https://evil.example", **here)  # type: ignore[arg-type]
    assert not same_origin("http://a.example", **here)  # type: ignore[arg-type]
    assert not same_origin("https://a.example:8443", **here)  # type: ignore[arg-type]
    assert not same_origin("null", **here)  # type: ignore[arg-type]
