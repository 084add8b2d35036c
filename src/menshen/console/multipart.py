"""A strict, bounded reader of ``multipart/form-data`` bodies (RFC 7578, RFC 2046 §5.1.1).

The console takes one upload: a declaration's attachment (at most 5 MiB). Rather than add a
general streaming parser as a dependency (Starlette's ``request.form()`` needs
``python-multipart`` and spools files of any size to disk), the console reads the whole body
with a hard bound first (``read_bounded``) and then parses it here, in memory, as a pure
function: bytes in, fields and files out, ``InvalidInput`` for anything it does not expect.

It accepts what browsers send (WHATWG HTML "multipart/form-data encoding algorithm"): no
preamble, CRLF line ends, ``Content-Disposition: form-data; name="…"[; filename="…"]``, an
optional ``Content-Type`` per part, ``"`` in names sent as ``%22``. It refuses a part without
a name, a repeated field, a repeated header, folded headers, a transfer encoding other than
binary ones (RFC 7578 §4.7), ``filename*`` (§4.2), and more parts or bytes than the limits.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, field

from menshen.errors import InvalidInput

__all__ = ["FilePart", "FormData", "Limits", "TooLarge", "boundary_of", "parse", "read_bounded"]

FORM_DATA = "multipart/form-data"
MAX_HEADER_BYTES = 2048
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_PARAM = re.compile(r';[ \t]*([A-Za-z0-9_*\-]+)[ \t]*=[ \t]*(?:"([^"\r\n]*)"|([^;"\s]*))[ \t]*')
_HEADER_NAME = re.compile(r"[A-Za-z0-9\-]+")
_BINARY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})


class TooLarge(InvalidInput):
    """The body or one of its parts is over its limit (HTTP 413)."""


@dataclass(frozen=True, slots=True)
class Limits:
    parts: int = 8
    field_bytes: int = 64 * 1024
    """Each text field, in bytes (UTF-8)."""
    file_bytes: int = 5 * 1024 * 1024
    """Each file's content."""


@dataclass(frozen=True, slots=True)
class FilePart:
    filename: str
    """As the browser sent it (may be empty: no file chosen); never a path to trust."""
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class FormData:
    fields: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, FilePart] = field(default_factory=dict)


def boundary_of(content_type: str) -> str | None:
    """The boundary of a ``multipart/form-data`` media type, or None if it is not one."""
    media, _, rest = content_type.partition(";")
    if media.strip().lower() != FORM_DATA:
        return None
    params = _params(";" + rest)
    if params is None:
        return None
    boundary = params.get("boundary")
    if boundary is None or _BOUNDARY.fullmatch(boundary) is None:
        return None
    return boundary


async def read_bounded(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """The whole body, or TooLarge as soon as more than ``limit`` bytes have arrived."""
    body = bytearray()
    async for chunk in chunks:
        body.extend(chunk)
        if len(body) > limit:
            raise TooLarge(f"the body is larger than {limit} bytes")
    return bytes(body)


def parse(body: bytes, boundary: str, limits: Limits = Limits()) -> FormData:
    """The text fields and files of ``body``; InvalidInput (TooLarge) for anything amiss."""
    delimiter = b"\r\n--" + boundary.encode("ascii")
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 2 or pieces[0] != b"":
        raise InvalidInput("the body does not start with its boundary")
    closing = pieces[-1]
    if not closing.startswith(b"--") or closing[2:] not in (b"", b"\r\n"):
        raise InvalidInput("the body does not end with its closing boundary")
    parts = pieces[1:-1]
    if len(parts) > limits.parts:
        raise TooLarge(f"more than {limits.parts} parts")
    fields: dict[str, str] = {}
    files: dict[str, FilePart] = {}
    for piece in parts:
        name, filename, content_type, content = _part(piece)
        if name in fields or name in files:
            raise InvalidInput(f"the field {name[:40]!r} is sent twice")
        if filename is None:
            if len(content) > limits.field_bytes:
                raise TooLarge(f"the field {name[:40]!r} is longer than {limits.field_bytes} bytes")
            try:
                fields[name] = content.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"the field {name[:40]!r} is not UTF-8") from None
        else:
            if len(content) > limits.file_bytes:
                raise TooLarge(f"the file {name[:40]!r} is larger than {limits.file_bytes} bytes")
            files[name] = FilePart(filename, content_type, content)
    return FormData(fields, files)


def _part(piece: bytes) -> tuple[str, str | None, str, bytes]:
    if not piece.startswith(b"\r\n"):
        raise InvalidInput("a boundary is not followed by a line end")
    head, sep, content = piece[2:].partition(b"\r\n\r\n")
    if not sep or len(head) > MAX_HEADER_BYTES:
        raise InvalidInput("a part has no header block, or one that is too long")
    headers = _headers(head)
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise InvalidInput("a part has no Content-Disposition")
    kind, _, rest = disposition.partition(";")
    params = _params(";" + rest) if rest else {}
    if kind.strip().lower() != "form-data" or params is None or "filename*" in params:
        raise InvalidInput("a part's Content-Disposition is not form-data with a name")
    name = params.get("name", "").replace("%22", '"')
    if not name:
        raise InvalidInput("a part has no name")
    encoding = headers.get("content-transfer-encoding")
    if encoding is not None and encoding.strip().lower() not in _BINARY_ENCODINGS:
        raise InvalidInput("a part uses a transfer encoding (RFC 7578 §4.7)")
    filename = params.get("filename")
    if filename is not None:
        filename = filename.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
    content_type = headers.get("content-type", "").strip()
    return name, filename, content_type, content


def _headers(head: bytes) -> dict[str, str]:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("a part's headers are not UTF-8") from None
    headers: dict[str, str] = {}
    for line in text.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon or _HEADER_NAME.fullmatch(name) is None:
            raise InvalidInput("a part has a malformed header line")
        key = name.lower()
        if key in headers:
            raise InvalidInput(f"a part repeats its {name[:40]} header")
        headers[key] = value.strip()
    return headers


def _params(text: str) -> dict[str, str] | None:
    """``; key=value`` pairs (values quoted or tokens); None if malformed or repeated."""
    params: dict[str, str] = {}
    at = 0
    stripped = text.rstrip()
    while at < len(stripped):
        found = _PARAM.match(stripped, at)
        if found is None:
            return None
        key = found.group(1).lower()
        if key in params:
            return None
        params[key] = found.group(2) if found.group(2) is not None else found.group(3)
        at = found.end()
    return params
