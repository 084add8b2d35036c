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
    "NameCache",
    "RequestHeaders",
    "classify_request_header",
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
_NOT_NOMINATED = frozenset(["close", "keep-alive", "upgrade", "host"])
_NO_TOKENS: frozenset[str] = frozenset()


@dataclass(slots=True)
class RequestHeaders:
    """What the data plane learned from a request's header section.

    Not frozen, for speed only: built once per request and never changed after (a frozen
    dataclass's ``__init__`` sets each of these fields through ``object.__setattr__``,
    about 1 µs per request).
    """

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


# Kinds of request header names (see ``classify_request_header``).
KEEP = 0
DROP = 1
IDENTITY = 2
HOST = 3
CONTENT_LENGTH = 4
TRANSFER_ENCODING = 5
CONNECTION = 6
UPGRADE = 7
EXPECT = 8
FORWARDED_FOR = 9
FORWARDED_PROTO = 10
FORWARDED_HOST = 11
FORWARDING = 12  # other forwarding fields: kept from a trusted peer only

NameCache = dict[bytes, tuple[str, int]]
_NAME_CACHE_SIZE = 1024
_SPECIAL = {
    "host": HOST,
    "content-length": CONTENT_LENGTH,
    "transfer-encoding": TRANSFER_ENCODING,
    "connection": CONNECTION,
    "upgrade": UPGRADE,
    "expect": EXPECT,
    "x-forwarded-for": FORWARDED_FOR,
    "x-forwarded-proto": FORWARDED_PROTO,
    "x-forwarded-host": FORWARDED_HOST,
}


def classify_request_header(name: str) -> int:
    """What the request rules do with a field called ``name`` (lower-case)."""
    if "_" in name:
        return IDENTITY if name.replace("_", "-").startswith("x-menshen-") else DROP
    if name.startswith("x-menshen-"):
        return IDENTITY
    special = _SPECIAL.get(name)
    if special is not None:
        return special
    if name in HOP_BY_HOP or name in _ALWAYS_DROPPED:
        return DROP
    if name.startswith("x-forwarded-") or name in _FORWARDING:
        return FORWARDING
    return KEEP


def split_request_headers(
    raw: list[tuple[bytes, bytes]], trusted_peer: bool, names: NameCache | None = None
) -> RequestHeaders:
    """Validate framing and filter the client's fields; raise ``Rejected`` on smuggling.

    ``names`` caches the lower-cased name and kind of each received spelling (a server
    passes one dict for all its requests: the same few names arrive on every request).
    """
    kept: list[tuple[str, str]] = []
    host: str | None = None
    host_count = 0
    content_length: int | None = None
    transfer_encoding: list[str] = []
    connection: set[str] | None = None
    upgrade: str | None = None
    expect: str | None = None
    forwarded_for: list[str] = []
    forwarded_proto: str | None = None
    forwarded_host: str | None = None
    identity = 0
    for raw_name, raw_value in raw:
        entry = None if names is None else names.get(raw_name)
        if entry is None:
            lower = raw_name.decode("latin-1").lower()
            entry = (lower, classify_request_header(lower))
            if names is not None:
                if len(names) >= _NAME_CACHE_SIZE:
                    names.clear()  # bounded: a client can send any number of names
                names[raw_name] = entry
        name, kind = entry
        if kind == KEEP:
            kept.append((name, raw_value.decode("latin-1")))
        elif kind == HOST:
            host_count += 1
            host = raw_value.decode("latin-1")
            kept.append((name, host))
        elif kind == DROP:
            continue
        elif kind == IDENTITY:
            identity += 1
        elif kind == CONTENT_LENGTH:
            content_length = _content_length(raw_value, content_length)
        elif kind == TRANSFER_ENCODING:
            transfer_encoding.append(raw_value.decode("latin-1"))
        elif kind == CONNECTION:
            if connection is None:
                connection = set()
            connection.update(
                t.strip(" \t").lower() for t in raw_value.decode("latin-1").split(",")
            )
        elif kind == UPGRADE:
            upgrade = raw_value.decode("latin-1").strip(" \t")
        elif kind == EXPECT:
            expect = raw_value.decode("latin-1").strip(" \t").lower()
        elif not trusted_peer:
            continue  # every forwarding field of an untrusted peer
        elif kind == FORWARDED_FOR:
            forwarded_for.append(raw_value.decode("latin-1"))
        elif kind == FORWARDED_PROTO:
            forwarded_proto = raw_value.decode("latin-1").strip(" \t").lower()
        elif kind == FORWARDED_HOST:
            forwarded_host = raw_value.decode("latin-1").strip(" \t")
        else:
            kept.append((name, raw_value.decode("latin-1")))
    if host_count > 1:
        raise Rejected(400, "bad_host", "more than one Host header")
    chunked = _chunked(transfer_encoding) if transfer_encoding else False
    if chunked and content_length is not None:
        raise Rejected(400, "smuggling", "both Content-Length and Transfer-Encoding")
    if connection is None:
        tokens = _NO_TOKENS
    else:
        connection.discard("")
        nominated = connection - _NOT_NOMINATED
        if nominated:
            kept = [(n, v) for n, v in kept if n not in nominated]
        tokens = frozenset(connection)
    return RequestHeaders(
        headers=tuple(kept),
        host=host,
        content_length=content_length,
        chunked=chunked,
        connection=tokens,
        upgrade=upgrade,
        expect=expect,
        forwarded_for=tuple(forwarded_for) if forwarded_for else (),
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
    nominated: set[bytes] | None = None
    content_length: int | None = None
    chunked = False
    for field_ in raw:
        lower = field_[0].lower()
        if lower not in _RESPONSE_HOP_BY_HOP_BYTES:
            kept.append(field_)
            continue
        value = field_[1]
        if lower == b"content-length":
            content_length = int(value.strip())
        elif lower == b"transfer-encoding":
            chunked = value.strip().lower().endswith(b"chunked")
        elif lower == b"connection":
            if nominated is None:
                nominated = set()
            nominated.update(t.strip().lower() for t in value.split(b","))
    if nominated:
        # Names already dropped as hop-by-hop (``Connection: keep-alive``, the usual
        # case) need no second pass over the kept fields.
        nominated -= _RESPONSE_HOP_BY_HOP_BYTES
        if nominated:
            kept = [(n, v) for n, v in kept if n.lower() not in nominated]
    return kept, content_length, chunked


_RESPONSE_HOP_BY_HOP_BYTES = frozenset(n.encode("ascii") for n in _RESPONSE_HOP_BY_HOP)
