"""Checks for the small values of the model: ids, labels, tags, host names, free text.

Each ``check_*`` returns the canonical spelling or raises ``ValueError`` with a message fit
for a user, so the YAML schema, the CSV reader and the model's own constructors all give
the same answer. Host names follow RFC 1123 §2.1 (with an optional leading ``*.`` for SaaS
wildcards); label keys and values follow the Kubernetes label syntax, so they carry over to
NetworkPolicy selectors unchanged.
"""

from __future__ import annotations

import ipaddress
import re

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_ID = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,62}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_FORMULA = ("=", "+", "@")
MAX_TEXT = 500


def check_id(value: str, what: str = "id") -> str:
    """An id or name: lower-case letters, digits, ``.``, ``-``, ``_``; at most 63."""
    if not _ID.match(value):
        raise ValueError(
            f"invalid {what} {value!r}: use lower-case letters, digits, '.', '-' or '_' "
            "(at most 63, starting and ending with a letter or digit)"
        )
    return value


def check_rule_id(value: str) -> str:
    """A rule id as people write them in tickets (``SEG-001``, ``db/admin``)."""
    if not _RULE_ID.match(value):
        raise ValueError(f"invalid rule id {value!r}: letters, digits and . _ : / - (at most 128)")
    return value


def check_label_key(value: str) -> str:
    if not _LABEL_KEY.match(value):
        raise ValueError(
            f"invalid label key {value!r}: a lower-case letter, then letters, digits, '_', '.', "
            "'-' (at most 63)"
        )
    return value


def check_label_value(value: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise ValueError(
            f"invalid label value {value!r}: letters, digits, '.', '-' or '_' (at most 63, "
            "starting and ending with a letter or digit)"
        )
    return value


def check_tag(value: str) -> str:
    if not _TAG.match(value):
        raise ValueError(
            f"invalid tag {value!r}: lower-case letters, digits, '.', '_', ':', '-' (at most 63)"
        )
    return value


def check_dns_name(value: str) -> str:
    """A lower-case host name; ``*.`` may start it (a wildcard for a SaaS domain)."""
    if value != value.lower():
        raise ValueError(f"host name {value!r} must be lower-case")
    body = value[2:] if value.startswith("*.") else value
    labels = body.split(".")
    if len(value) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        raise ValueError(f"invalid address {value!r}: not an IP address, CIDR or host name")
    if all(label.isdigit() for label in labels):
        raise ValueError(f"invalid address {value!r}: not an IP address, CIDR or host name")
    return value


def check_text(value: str, what: str = "text") -> str:
    """Free text (names, owners, purposes): one line, no control characters.

    A leading ``=``, ``+`` or ``@`` is refused: exported to CSV, a spreadsheet would run it
    as a formula (OWASP "CSV injection").
    """
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} is longer than {MAX_TEXT} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError(f"{what} {value!r} contains a control character")
    if value.startswith(_FORMULA):
        raise ValueError(f"{what} {value!r} must not start with '=', '+' or '@'")
    return value


def parse_network(value: str) -> Network:
    """An IP address (as a /32 or /128) or a CIDR block whose host bits are zero.

    RFC 4632 §3.1: ``10.0.0.1/24`` names a host, not a network, and is refused.
    """
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"invalid CIDR {value!r}: {exc}") from None


def looks_like_ip(value: str) -> bool:
    """True when ``value`` is meant as an address or CIDR (digits and dots, or a colon)."""
    head = value.split("/", 1)[0]
    return ":" in head or (head.replace(".", "").isdigit() and "." in head) or "/" in value


def parse_address(value: str) -> Network | str:
    """An IP address or CIDR (as a network) or a host name (as canonical text)."""
    if looks_like_ip(value):
        return parse_network(value)
    return check_dns_name(value)


def format_network(network: Network) -> str:
    """A single host as its bare address; any other block as a CIDR."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def network_key(network: Network) -> tuple[int, int, int]:
    """Sort order for networks: IPv4 before IPv6, then by start, then by size."""
    return (network.version, int(network.network_address), network.prefixlen)
