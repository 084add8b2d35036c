"""Request and response header rules of the proxy (RFC 9110 §7.6.1, RFC 9112 §6-§7).

Request side, in one pass over what the client sent:

* hop-by-hop fields are removed: ``Connection``, ``Keep-Alive``, ``Proxy-Connection``, ``TE``,
  ``Trailer``, ``Transfer-Encoding``, ``Upgrade``, ``Proxy-Authorization``,
  ``Proxy-Authenticate`` and every field named in ``Connection`` (never ``Host``);
* every field with ``_`` in its name is dropped (``X_Forwarded_For`` and ``X_Menshen_User``
  cannot be smuggled past a check that looks for dashes), and every ``x-menshen-*`` field
  in any case is dropped and counted, so the caller can audit the attempt;
* ``Forwarded``, ``X-Forwarded-*``, ``X-Real-IP`` and similar are believed only from a
  trusted proxy; ``X-Original-URL`` / ``X-Rewrite-URL`` (path overrides some servers honour)
  are always dropped;
* framing is validated: one ``Content-Length`` of digits; ``Transfer-Encoding`` only as the
  single value ``chunked``; never both (request smuggling, RFC 9112 §6.3); one ``Host``.

Response side: hop-by-hop fields are removed and framing is re-decided by the data plane.
"""

from __future__ import annotations

from dataclasses import dataclass

from menshen.gateway.contract import Headers
from menshen.gateway.http1 import Rejected

__all__ = [
    "RequestHeaders",
    "filter_response_headers",
    "split_request_headers",
    "strip_cookies",
]

HOP_BY_HOP = frozenset(
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
    ]
)
# Believed only from a trusted proxy.
_FORWARDING = frozenset(
    ["forwarded", "x-real-ip", "x-client-ip", "true-client-ip", "x-cluster-client-ip"]
)
# Path overrides honoured by some application servers: never forwarded.
_ALWAYS_DROPPED = frozenset(["x-original-url", "x-rewrite-url", "x-original-uri"])
# Written by the gateway itself for every request.
_REWRITTEN = frozenset(["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"])
_RESPONSE_HOP_BY_HOP = HOP_BY_HOP | frozenset(["content-length"])
_DIGITS = frozenset(b"0123456789")


@dataclass(frozen=True, slots=True)
class RequestHeaders:
    """What the data plane learned from a request's header section."""

    headers: Headers  # end-to-end fields, lower-case names, received order (incl. host)
    host: str | None
    content_length: int | None
    chunked: bool
    connection: frozenset[str]  # lower-case tokens of Connection
    upgrade: str | None
    expect: str | None
    forwarded_for: tuple[str, ...]  # X-Forwarded-For values, from a trusted peer only
    forwarded_proto: str | None  # from a trusted peer only
    forwarded_host: str | None  # from a trusted peer only
    identity_stripped: int  # how many x-menshen-* fields (any spelling) were removed


def split_request_headers(raw: list[tuple[bytes, bytes]], trusted_peer: bool) -> RequestHeaders:
    """Validate framing and filter the client's fields; raise ``Rejected`` on smuggling."""
    kept: list[tuple[str, str]] = []
    host: str | None = None
    host_count = 0
    content_length: int | None = None
    transfer_encoding: list[str] = []
    connection: set[str] = set()
    upgrade: str | None = None
    expect: str | None = None
    forwarded_for: list[str] = []
    forwarded_proto: str | None = None
    forwarded_host: str | None = None
    identity = 0
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if "_" in name:
            if name.replace("_", "-").startswith("x-menshen-"):
                identity += 1
            continue
        if name.startswith("x-menshen-"):
            identity += 1
            continue
        if name == "host":
            host_count += 1
            host = value
        elif name == "content-length":
            content_length = _content_length(raw_value, content_length)
            continue
        elif name in HOP_BY_HOP:
            if name == "transfer-encoding":
                transfer_encoding.append(value)
            elif name == "connection":
                connection.update(t.strip(" \t").lower() for t in value.split(","))
            elif name == "upgrade":
                upgrade = value.strip(" \t")
            continue
        elif name == "expect":
            expect = value.strip(" \t").lower()
            continue
        elif name in _ALWAYS_DROPPED:
            continue
        elif name.startswith("x-forwarded-") or name in _FORWARDING:
            if not trusted_peer:
                continue
            if name in _REWRITTEN:
                if name == "x-forwarded-for":
                    forwarded_for.append(value)
                elif name == "x-forwarded-proto":
                    forwarded_proto = value.strip(" \t").lower()
                else:
                    forwarded_host = value.strip(" \t")
                continue
        kept.append((name, value))
    if host_count > 1:
        raise Rejected(400, "bad_host", "more than one Host header")
    chunked = _chunked(transfer_encoding)
    if chunked and content_length is not None:
        raise Rejected(400, "smuggling", "both Content-Length and Transfer-Encoding")
    connection.discard("")
    nominated = connection - {"close", "keep-alive", "upgrade", "host"}
    if nominated:
        kept = [(n, v) for n, v in kept if n not in nominated]
    return RequestHeaders(
        headers=tuple(kept),
        host=host,
        content_length=content_length,
        chunked=chunked,
        connection=frozenset(connection),
        upgrade=upgrade,
        expect=expect,
        forwarded_for=tuple(forwarded_for),
        forwarded_proto=forwarded_proto,
        forwarded_host=forwarded_host,
        identity_stripped=identity,
    )


def _content_length(raw_value: bytes, previous: int | None) -> int:
    value = raw_value.strip(b" \t")
    if not value or len(value) > 18 or not set(value) <= _DIGITS:
        raise Rejected(400, "smuggling", "invalid Content-Length")
    if previous is not None:
        raise Rejected(400, "smuggling", "more than one Content-Length")
    return int(value)


def _chunked(values: list[str]) -> bool:
    if not values:
        return False
    if len(values) > 1 or values[0].strip(" \t").lower() != "chunked":
        raise Rejected(400, "smuggling", "Transfer-Encoding other than a single 'chunked'")
    return True


def strip_cookies(value: str, names: frozenset[str]) -> str | None:
    """Remove the cookies named in ``names`` from a ``Cookie`` value (RFC 6265 §5.4).

    Returns None when nothing is left, so the caller drops the field.
    """
    kept = []
    for pair in value.split(";"):
        pair = pair.strip(" \t")
        if not pair:
            continue
        cookie_name = pair.split("=", 1)[0].strip(" \t")
        if cookie_name not in names:
            kept.append(pair)
    return "; ".join(kept) if kept else None


def filter_response_headers(
    raw: list[tuple[bytes, bytes]],
) -> tuple[list[tuple[bytes, bytes]], int | None, bool]:
    """Drop hop-by-hop fields of an upstream response.

    Returns (kept fields, Content-Length if any, whether the body was chunked). The caller
    writes its own framing fields.
    """
    kept: list[tuple[bytes, bytes]] = []
    nominated: set[bytes] = set()
    content_length: int | None = None
    chunked = False
    for name, value in raw:
        lower = name.lower()
        if lower in _RESPONSE_HOP_BY_HOP_BYTES:
            if lower == b"content-length":
                content_length = int(value.strip())
            elif lower == b"transfer-encoding":
                chunked = value.strip().lower().endswith(b"chunked")
            elif lower == b"connection":
                nominated.update(t.strip().lower() for t in value.split(b","))
            continue
        kept.append((name, value))
    if nominated:
        kept = [(n, v) for n, v in kept if n.lower() not in nominated]
    return kept, content_length, chunked


_RESPONSE_HOP_BY_HOP_BYTES = frozenset(n.encode("ascii") for n in _RESPONSE_HOP_BY_HOP)
