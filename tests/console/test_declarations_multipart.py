"""The declare form's multipart reader: what browsers send round-trips, the rest is refused."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from menshen.console.multipart import (
    FilePart,
    Limits,
    TooLarge,
    boundary_of,
    parse,
    read_bounded,
)
from menshen.errors import InvalidInput

B = "----formboundary7MA4YWxkTrZu0gW"
CT = f"multipart/form-data; boundary={B}"


def _encode(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    """The body httpx (a browser-like encoder, not ours) makes for these fields and files."""
    request = httpx.Request(
        "POST",
        "https://apps.firm.example/x",
        data=fields,
        files={
            name: (filename, body, "application/pdf") for name, (filename, body) in files.items()
        },
    )
    return request.headers["content-type"], request.read()


def _part(name: str, value: bytes, extra: str = "") -> bytes:
    return f'--{B}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode() + (
        value + b"\r\n"
    )


def _body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{B}--\r\n".encode()


_names = st.text(st.characters(min_codepoint=48, max_codepoint=122, categories=("L", "N")),
                 min_size=1, max_size=12)  # fmt: skip


_filename_chars = st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters='"\\%')


@settings(max_examples=60, deadline=None)
@given(
    fields=st.dictionaries(_names, st.text(max_size=200), max_size=4),
    upload=st.binary(max_size=2048),
    filename=st.text(_filename_chars, min_size=1, max_size=30),
)
def test_what_httpx_encodes_round_trips(
    fields: dict[str, str], upload: bytes, filename: str
) -> None:
    """Fields and a file encoded by another implementation come back unchanged."""
    fields = {f"f{key}": value for key, value in fields.items()}
    content_type, body = _encode(fields, {"attachment": (filename, upload)})
    boundary = boundary_of(content_type)
    assert boundary is not None
    form = parse(body, boundary)
    assert dict(form.fields) == fields
    assert form.files["attachment"].body == upload
    assert form.files["attachment"].filename == filename


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_parsed_or_refused_with_invalid_input(body: bytes) -> None:
    """No other exception, whatever the body: a parser crash would be a 500."""
    with contextlib.suppress(InvalidInput):
        parse(body, B)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_content_type_gives_a_valid_boundary_or_none(content_type: str) -> None:
    """boundary_of never raises and only returns a boundary RFC 2046 allows."""
    found = boundary_of(content_type)
    assert found is None or (1 <= len(found) <= 70 and not found.endswith(" "))


def test_boundary_of_reads_quoted_and_plain_parameters() -> None:
    """Quoted or not, with charset before it; other media types and bad boundaries: None."""
    assert boundary_of(CT) == B
    assert boundary_of(f'Multipart/Form-Data; charset=utf-8; boundary="{B}"') == B
    assert boundary_of("application/x-www-form-urlencoded") is None
    assert boundary_of("multipart/form-data") is None
    assert boundary_of('multipart/form-data; boundary="a;b"') is None
    assert boundary_of("multipart/form-data; boundary=" + "x" * 71) is None
    assert boundary_of(f"multipart/form-data; boundary={B}; boundary=other") is None


def test_an_empty_file_part_is_a_file_with_no_name() -> None:
    """What a browser sends when no file is chosen."""
    body = _body(_part("csrf", b"abc"), _part("attachment", b"", '; filename=""'))
    form = parse(body, B)
    assert form.fields == {"csrf": "abc"}
    assert form.files == {"attachment": FilePart("", "", b"")}


@pytest.mark.parametrize(
    "body",
    [
        _body(_part("a", b"1"), _part("a", b"2")),  # a repeated field
        _body(_part("a", b"1", '; filename="x"'), _part("a", b"2")),  # repeated across kinds
        _body(_part("", b"1")),  # no name
        _body(_part("a", b"\xff\xfe")),  # a field that is not UTF-8
        _body(_part("a", b"1", "; filename*=UTF-8''x")),  # RFC 7578 §4.2
        b"preamble\r\n" + _body(_part("a", b"1")),  # not what a browser sends
        _body(_part("a", b"1"))[:-4],  # no closing boundary
        _body(_part("a", b"1")) + b"trailing junk",
        f"--{B}\r\nContent-Type: text/plain\r\n\r\n1\r\n--{B}--".encode(),  # no disposition
        f"--{B}\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--{B}--".encode(),
        f'--{B}\r\nContent-Disposition: form-data; name="a"\r\n'
        f" folded\r\n\r\n1\r\n--{B}--".encode(),
        f'--{B}\r\nContent-Disposition: form-data; name="a"\r\nContent-Transfer-Encoding: '
        f"base64\r\n\r\nMQ==\r\n--{B}--".encode(),
        f'--{B}\r\nContent-Disposition: form-data; name="a"\r\n'
        f'Content-Disposition: form-data; name="b"\r\n\r\n1\r\n--{B}--'.encode(),
        f'--{B}Content-Disposition: form-data; name="a"\r\n\r\n1\r\n--{B}--'.encode(),
    ],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    """Each oddity is an InvalidInput, never a partial form."""
    with pytest.raises(InvalidInput):
        parse(body, B)


def test_limits_on_parts_fields_and_files_are_too_large() -> None:
    """More parts, a longer field or a bigger file than allowed: TooLarge."""
    limits = Limits(parts=2, field_bytes=4, file_bytes=8)
    with pytest.raises(TooLarge):
        parse(_body(_part("a", b"1"), _part("b", b"2"), _part("c", b"3")), B, limits)
    with pytest.raises(TooLarge):
        parse(_body(_part("a", b"12345")), B, limits)
    with pytest.raises(TooLarge):
        parse(_body(_part("f", b"123456789", '; filename="x"')), B, limits)
    form = parse(_body(_part("a", b"1234"), _part("f", b"12345678", '; filename="x"')), B, limits)
    assert form.fields == {"a": "1234"}
    assert form.files["f"].body == b"12345678"


def test_read_bounded_stops_as_soon_as_the_limit_is_passed() -> None:
    """The reader does not keep pulling chunks once over the limit."""
    pulled: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(100):
            pulled.append(index)
            yield b"x" * 10

    with pytest.raises(TooLarge):
        asyncio.run(read_bounded(chunks(), 25))
    assert pulled == [0, 1, 2]
    assert asyncio.run(read_bounded(chunks(), 1000)) == b"x" * 1000
