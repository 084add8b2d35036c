"""Host parsing and X-Forwarded-For trust (reference list items 3 and 15)."""

from __future__ import annotations

import pytest

from menshen.errors import ProtocolError
from menshen.gateway.forwarded import TrustedProxies, parse_forwarded_for
from menshen.gateway.hosts import parse_host


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Example.COM", ("example.com", None)),
        ("example.com.", ("example.com", None)),
        ("example.com:8443", ("example.com", 8443)),
        ("127.0.0.1:80", ("127.0.0.1", 80)),
        ("[::1]:8080", ("[::1]", 8080)),
        ("[0:0::1]", ("[::1]", None)),
    ],
)
def test_parse_host_normalises(value: str, expected: tuple[str, int | None]) -> None:
    """Hosts are lower-cased, lose one trailing dot, and keep their port."""
    assert parse_host(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "user@example.com",
        "a b",
        "example.com:",
        "example.com:99999",
        "example.com:x",
        "[::1",
        "[nothex]",
        "a..b",
        ".",
        "ex/ample",
        "exa%mple",
        "example.com:80:80",
        "[::1]x",
    ],
)
def test_parse_host_rejects_garbage(value: str) -> None:
    """Userinfo, empty, bad characters, bad ports: 400."""
    with pytest.raises(ProtocolError) as info:
        parse_host(value)
    assert info.value.status == 400


def test_untrusted_peer_forwarded_for_is_ignored() -> None:
    """Without trusted proxies the TCP peer is the client, whatever the header says."""
    trusted = TrustedProxies([])
    assert trusted.client_ip("203.0.113.9", ["1.2.3.4"]) == ("203.0.113.9", "203.0.113.9")


def test_trusted_chain_yields_rightmost_untrusted_address() -> None:
    """The client is the rightmost address that is not one of our proxies."""
    trusted = TrustedProxies(["10.0.0.0/8"])
    client, xff = trusted.client_ip("10.0.0.2", ["198.51.100.7, 203.0.113.5", "10.0.0.1"])
    assert client == "203.0.113.5"
    assert xff == "198.51.100.7, 203.0.113.5, 10.0.0.1, 10.0.0.2"


def test_trusted_chain_of_only_proxies_yields_leftmost() -> None:
    """When every hop is trusted, the first one is the best we know."""
    trusted = TrustedProxies(["10.0.0.0/8"])
    assert trusted.client_ip("10.0.0.2", ["10.1.1.1"])[0] == "10.1.1.1"


@pytest.mark.parametrize(
    "values",
    [
        ["a"],
        ["1.2.3.4, evil"],
        ["1.2.3.4,,5.6.7.8"],
        ["1.2.3.4, " * 30 + "1.2.3.4"],
        ["1" * 3000],
        [""],
    ],
)
def test_unparsable_forwarded_for_from_trusted_proxy_fails_closed(values: list[str]) -> None:
    """Names, empty elements, too many hops, too long: 400, never skipped."""
    with pytest.raises(ProtocolError) as info:
        parse_forwarded_for(values)
    assert info.value.status == 400


def test_ipv4_mapped_peer_matches_ipv4_network() -> None:
    """::ffff:10.0.0.1 is inside 10.0.0.0/8."""
    assert TrustedProxies(["10.0.0.0/8"]).contains("::ffff:10.0.0.1")
    assert not TrustedProxies(["10.0.0.0/8"]).contains("not-an-ip")
