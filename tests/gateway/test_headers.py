"""Header rules: hop-by-hop, identity-header smuggling, forwarding headers, cookies, framing."""

from __future__ import annotations

import pytest

from menshen.errors import ProtocolError
from menshen.gateway.headers import filter_response_headers, split_request_headers, strip_cookies


def _raw(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(n.encode(), v.encode()) for n, v in pairs]


def test_identity_headers_in_every_spelling_are_stripped_and_counted() -> None:
    """X-Menshen-*, x-MENSHEN-*, X_Menshen_* and duplicates never survive."""
    info = split_request_headers(
        _raw(
            ("Host", "a"),
            ("X-Menshen-User", "root"),
            ("x-MENSHEN-user", "root"),
            ("X_Menshen_User", "root"),
            ("X-Menshen_Groups", "admins"),
            ("X-Menshen-User", "again"),
            ("Accept", "*/*"),
        ),
        trusted_peer=False,
    )
    assert info.headers == (("host", "a"), ("accept", "*/*"))
    assert info.identity_stripped == 5


def test_underscore_headers_are_dropped() -> None:
    """X_Forwarded_For cannot be smuggled past a dash-based check."""
    info = split_request_headers(_raw(("Host", "a"), ("X_Forwarded_For", "1.2.3.4")), False)
    assert info.headers == (("host", "a"),)
    assert info.forwarded_for == ()


def test_hop_by_hop_and_connection_nominated_headers_are_removed() -> None:
    """Connection, Keep-Alive, TE, Proxy-Authorization and fields named in Connection go."""
    info = split_request_headers(
        _raw(
            ("Host", "a"),
            ("Connection", "keep-alive, X-Secret, host"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"),
            ("Proxy-Authorization", "Basic x"),
            ("X-Secret", "1"),
            ("Authorization", "Bearer t"),
        ),
        False,
    )
    assert info.headers == (("host", "a"), ("authorization", "Bearer t"))


def test_forwarding_headers_from_untrusted_peer_are_dropped() -> None:
    """X-Forwarded-*, Forwarded, X-Real-IP from an untrusted peer never reach the upstream."""
    info = split_request_headers(
        _raw(
            ("Host", "a"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("X-Forwarded-Host", "evil"),
            ("X-Forwarded-Uri", "/admin"),
            ("Forwarded", "for=1.2.3.4"),
            ("X-Real-IP", "1.2.3.4"),
            ("X-Original-URL", "/admin"),
        ),
        False,
    )
    assert info.headers == (("host", "a"),)
    assert info.forwarded_for == ()


def test_forwarding_headers_from_trusted_peer_are_used() -> None:
    """From a trusted proxy the chain, proto and host are taken (and rewritten later)."""
    info = split_request_headers(
        _raw(
            ("Host", "a"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("X-Forwarded-Proto", "HTTPS"),
            ("X-Forwarded-Port", "443"),
            ("X-Original-URL", "/admin"),
        ),
        True,
    )
    assert info.forwarded_for == ("1.2.3.4",)
    assert info.forwarded_proto == "https"
    assert info.headers == (("host", "a"), ("x-forwarded-port", "443"))


@pytest.mark.parametrize(
    "pairs",
    [
        (("Content-Length", "3"), ("Transfer-Encoding", "chunked")),
        (("Content-Length", "3"), ("Content-Length", "3")),
        (("Content-Length", "3"), ("Content-Length", "4")),
        (("Content-Length", "-1"),),
        (("Content-Length", "3, 3"),),
        (("Transfer-Encoding", "gzip, chunked"),),
        (("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")),
        (("Transfer-Encoding", "identity"),),
        (("Host", "a"), ("Host", "b")),
    ],
)
def test_ambiguous_framing_is_rejected(pairs: tuple[tuple[str, str], ...]) -> None:
    """Request-smuggling shapes are a 400."""
    with pytest.raises(ProtocolError) as info:
        split_request_headers(_raw(*pairs), False)
    assert info.value.status == 400


def test_strip_cookies_removes_named_cookies_only() -> None:
    """The gateway's own cookie is removed; the field disappears when nothing is left."""
    names = frozenset({"menshen_session"})
    assert strip_cookies("a=1; menshen_session=s; b=2", names) == "a=1; b=2"
    assert strip_cookies("menshen_session=s", names) is None
    assert strip_cookies(" menshen_session = s ;", names) is None


def test_response_hop_by_hop_fields_are_removed() -> None:
    """Connection-nominated and hop-by-hop response fields do not reach the client."""
    kept, length, chunked = filter_response_headers(
        _raw(
            ("Connection", "close, X-Internal"),
            ("X-Internal", "1"),
            ("Content-Length", "5"),
            ("Content-Type", "text/plain"),
            ("Keep-Alive", "timeout=5"),
        )
    )
    assert kept == [(b"Content-Type", b"text/plain")]
    assert length == 5
    assert not chunked
