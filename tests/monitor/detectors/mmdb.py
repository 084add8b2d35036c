"""A minimal MaxMind DB writer for tests (MaxMind DB File Format Specification 2.0).

IPv4 search tree with 24-bit records, data section of maps/strings/doubles/unsigned ints,
then the metadata after ``\\xab\\xcd\\xefMaxMind.com``. Enough to build small City/ASN-shaped
databases that the real ``maxminddb`` reader opens; networks must not overlap.
"""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

_METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(type_number: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 285:
        head, extra = 29, bytes([size - 29])
    elif size < 65821:
        head, extra = 30, (size - 285).to_bytes(2, "big")
    else:
        head, extra = 31, (size - 65821).to_bytes(3, "big")
    if type_number <= 7:
        return bytes([(type_number << 5) | head]) + extra
    return bytes([head, type_number - 7]) + extra


def encode(value: Any) -> bytes:
    """One value in the MaxMind DB data-section encoding."""
    if isinstance(value, bool):
        return _control(14, 1 if value else 0)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _control(2, len(raw)) + raw
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("only unsigned integers")
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
        type_number = 5 if value < 1 << 16 else 6 if value < 1 << 32 else 9
        return _control(type_number, len(raw)) + raw
    if isinstance(value, dict):
        body = b"".join(encode(str(k)) + encode(v) for k, v in value.items())
        return _control(7, len(value)) + body
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(encode(item) for item in value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def write_mmdb(
    path: Path, networks: dict[str, dict[str, Any]], database_type: str = "Test-City"
) -> Path:
    """Write ``networks`` (IPv4 CIDR -> record) as a MaxMind DB at ``path``."""
    nodes: list[list[tuple[str, int] | None]] = [[None, None]]
    data = bytearray()
    for cidr, record in networks.items():
        network = ipaddress.IPv4Network(cidr)
        offset = len(data)
        data += encode(record)
        bits = int(network.network_address)
        node = 0
        for depth in range(network.prefixlen):
            bit = (bits >> (31 - depth)) & 1
            if depth == network.prefixlen - 1:
                nodes[node][bit] = ("data", offset)
                break
            child = nodes[node][bit]
            if child is None:
                nodes.append([None, None])
                child = nodes[node][bit] = ("node", len(nodes) - 1)
            if child[0] != "node":
                raise ValueError(f"{cidr} overlaps another network")
            node = child[1]
    count = len(nodes)

    def record_value(entry: tuple[str, int] | None) -> int:
        if entry is None:
            return count
        kind, number = entry
        return number if kind == "node" else count + 16 + number

    tree = b"".join(
        record_value(left).to_bytes(3, "big") + record_value(right).to_bytes(3, "big")
        for left, right in nodes
    )
    metadata = {
        "node_count": count,
        "record_size": 24,
        "ip_version": 4,
        "database_type": database_type,
        "languages": ["en"],
        "binary_format_major_version": 2,
        "binary_format_minor_version": 0,
        "build_epoch": 1_700_000_000,
        "description": {"en": "menshen test database"},
    }
    path.write_bytes(tree + bytes(16) + bytes(data) + _METADATA_MARKER + encode(metadata))
    return path
