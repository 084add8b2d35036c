"""The request head sent upstream: the guard's headers replace the caller's, dropped headers
never leave the gateway."""

from __future__ import annotations

from menshen.gateway.contract import Forward, RequestHead, Upstream
from menshen.gateway.outbound import BODY_NONE, upstream_request_head


def _head(*headers: tuple[str, str]) -> RequestHead:
    return RequestHead(
        method="GET",
        path="/books",
        query="",
        host="apps.example",
        port=443,
        scheme="https",
        headers=headers,
        client_ip="10.0.0.5",
        peer_ip="10.0.0.5",
    )


def test_dropped_headers_and_replaced_identity_never_reach_the_upstream() -> None:
    """A client's credential is removed entirely; a forged identity header is replaced."""
    head = _head(
        ("authorization", "Bearer secret-token"),
        ("x-api-key", "mk_0123_secret"),
        ("x-menshen-user", "admin"),
        ("accept", "application/json"),
    )
    forward = Forward(
        upstream=Upstream("127.0.0.1", 9000),
        add_headers=(("x-menshen-user", "bank-a"),),
        drop_headers=frozenset({"authorization", "x-api-key"}),
    )
    sent = upstream_request_head(head, forward, ("10.0.0.5", "https", "apps.example"), BODY_NONE, 0)
    text = sent.decode("latin-1")
    assert "secret" not in text
    assert "authorization" not in text
    assert "x-menshen-user: bank-a\r\n" in text
    assert "x-menshen-user: admin" not in text
    assert "accept: application/json\r\n" in text
