"""Canonical paths: the table of spellings and the Hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.errors import ProtocolError
from menshen.gateway.paths import canonical_path

ACCEPTED = [
    ("/", "/"),
    ("/admin", "/admin"),
    ("/admin/", "/admin/"),
    ("/%61dmin", "/admin"),
    ("/a%7eb", "/a~b"),
    ("/a%2db%5F", "/a-b_"),
    ("/a%20b", "/a%20b"),
    ("/a%c3%a9", "/a%C3%A9"),
    ("/.well-known/jwks.json", "/.well-known/jwks.json"),
    ("/a/...", "/a/..."),
    ("/a|b{c}", "/a%7Cb%7Bc%7D"),
    ("/caf\xe9", "/caf%E9"),
    ("/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,="),
    ("/100%25", "/100%25"),
]

REJECTED = [
    "",
    "admin",
    "*",
    "//admin",
    "/a//b",
    "/public/../admin",
    "/./admin",
    "/admin/.",
    "/admin/..",
    "/%2e%2e/admin",
    "/%2E%2E/admin",
    "/.%2e/admin",
    "/%2e/admin",
    "/a%2Fb",
    "/a%2fb",
    "/a%5Cb",
    "/a\\b",
    "/\\evil.com",
    "/admin;x",
    "/admin%3Bx",
    "/a%00b",
    "/a%0d%0aSet-Cookie:x",
    "/a\x00b",
    "/a\tb",
    "/a%zz",
    "/a%4",
    "/a%",
    "/a%252e%252e",
    "/a#frag",
    "/a?b",
    "/\u20ac",
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_canonical_path_normalises_safe_spellings(raw: str, expected: str) -> None:
    """Unreserved escapes are decoded, other escapes upper-cased, unsafe raw bytes encoded."""
    assert canonical_path(raw) == expected


@pytest.mark.parametrize("raw", REJECTED)
def test_canonical_path_rejects_ambiguous_paths(raw: str) -> None:
    """Dot segments, empty segments, encoded separators, ';', controls: 400."""
    with pytest.raises(ProtocolError) as info:
        canonical_path(raw)
    assert info.value.status == 400


_ALPHABET = st.sampled_from([*list("/.%2eEfF5cC3bB0aA_-~;\\:@!x"), "%2e", "%2F", "%41", "%25"])
paths = st.lists(_ALPHABET, max_size=24).map(lambda parts: "/" + "".join(parts))


@given(paths)
def test_canonical_path_is_idempotent(raw: str) -> None:
    """canonical(canonical(p)) == canonical(p) whenever p is accepted."""
    try:
        once = canonical_path(raw)
    except ProtocolError:
        return
    assert canonical_path(once) == once


@given(paths)
def test_canonical_path_never_contains_traversal(raw: str) -> None:
    """An accepted path has no dot segment, no empty segment and no encoded slash."""
    try:
        path = canonical_path(raw)
    except ProtocolError:
        return
    segments = path.split("/")[1:]
    assert "." not in segments
    assert ".." not in segments
    assert "//" not in path
    assert "%2F" not in path.upper()
    assert "%5C" not in path.upper()
    assert ";" not in path


@given(st.text(max_size=40))
def test_canonical_path_only_raises_protocol_error(raw: str) -> None:
    """Arbitrary text is either canonicalised or refused with 400, never crashes."""
    status = 0
    try:
        canonical_path("/" + raw)
    except ProtocolError as exc:
        status = exc.status
    assert status in (0, 400)
