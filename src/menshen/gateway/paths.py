"""Canonical request paths: one spelling per resource (RFC 3986 §2.3, §3.3, §6.2.2).

The gateway judges a request by its path and sends upstream EXACTLY the path it judged, so
the two can never disagree (the "normalisation mismatch" class of bypasses: ``/%2e%2e/admin``,
``/public/../admin``, ``//admin``, ``%2F``, ``;`` parameters).

``canonical_path`` does the safe normalisations of RFC 3986 §6.2.2 and refuses whatever
some server behind us might interpret differently:

* percent-encoded unreserved characters are decoded (``/%61dmin`` -> ``/admin``, §2.3);
* the hex digits of every remaining escape are upper-cased (§6.2.2.1);
* printable ASCII that is not allowed raw in a path (``" < > ^ ` { | }``) and raw bytes
  0x80-0xFF are percent-encoded;
* rejected (``ProtocolError(400)``): dot segments ``.``/``..`` (raw or encoded), empty
  segments except a trailing slash, encoded ``/`` ``\\`` ``;`` (``%2F``, ``%5C``, ``%3B``),
  raw ``\\`` and ``;``, control characters raw or encoded (``%00``-``%1F``, ``%7F``),
  double encoding of a byte (``%25`` followed by two hex digits), malformed escapes,
  ``#``, ``?`` and anything that does not start with ``/``.

The function is idempotent: ``canonical_path(canonical_path(p)) == canonical_path(p)``.
"""

from __future__ import annotations

import re

from menshen.errors import ProtocolError

__all__ = ["PathRejected", "canonical_path"]

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# pchar minus ';' (RFC 3986 §3.3) plus the segment separator.
_RAW_OK = _UNRESERVED | frozenset("!$&'()*+,=:@/")
# Printable ASCII a browser may leave raw but that is not a pchar: encoded, not refused.
_RAW_ENCODE = frozenset('"<>^`{|}')
_HEX = frozenset("0123456789abcdefABCDEF")
# Escapes that decode to a byte a server might treat as structure: refused outright.
_REFUSED_ESCAPES = frozenset(["2F", "5C", "3B", "00", "7F"] + [f"{i:02X}" for i in range(1, 32)])
# A path made only of these characters needs no work beyond the segment checks.
_FAST = re.compile(r"[A-Za-z0-9\-_~!$&'()*+,=:@/.]*")
_DOUBLE_ENCODED = re.compile(r"%25[0-9A-Fa-f]{2}")


class PathRejected(ProtocolError):
    """A request path the gateway refuses to judge; always answered with 400."""

    kind = "bad_path"

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def canonical_path(raw_path: str) -> str:
    """Return the canonical form of ``raw_path`` (no query) or raise ``PathRejected``."""
    if not raw_path.startswith("/"):
        raise PathRejected("path must start with '/'")
    if _FAST.fullmatch(raw_path) is not None:
        path = raw_path
    else:
        path = _normalise_characters(raw_path)
        if "%25" in path and _DOUBLE_ENCODED.search(path) is not None:
            # Judged on the result, so that the check cannot be split across escapes.
            raise PathRejected("double percent-encoding is not allowed")
    _check_segments(path)
    return path


def _normalise_characters(raw: str) -> str:
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == "%":
            hex_digits = raw[i + 1 : i + 3]
            if len(hex_digits) != 2 or not (hex_digits[0] in _HEX and hex_digits[1] in _HEX):
                raise PathRejected("malformed percent-escape")
            upper = hex_digits.upper()
            if upper in _REFUSED_ESCAPES:
                raise PathRejected(f"encoded %{upper} is not allowed in a path")
            decoded = chr(int(upper, 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + upper)
            i += 3
            continue
        if ch in _RAW_OK:
            out.append(ch)
        elif ch in _RAW_ENCODE:
            out.append(f"%{ord(ch):02X}")
        elif "\x80" <= ch <= "\xff":
            # The wire is decoded as latin-1, so each such character is one raw byte.
            out.append(f"%{ord(ch):02X}")
        elif ch == "\\":
            raise PathRejected("backslash is not allowed in a path")
        elif ch == ";":
            raise PathRejected("';' path parameters are not allowed")
        elif ch in "#?":
            raise PathRejected(f"{ch!r} is not part of a path")
        else:
            raise PathRejected("control or non-ASCII character in path")
        i += 1
    return "".join(out)


def _check_segments(path: str) -> None:
    # Cheap pre-checks cover the common case; only suspicious paths are split.
    if "//" in path:
        raise PathRejected("empty path segment")
    if "/." not in path:
        return
    for segment in path.split("/"):
        if segment in (".", ".."):
            raise PathRejected("dot segment in path")
