"""Connections from a ``conntrack -L`` dump (conntrack-tools, the Linux connection table).

Each line is one tracked connection, with both directions::

    tcp      6 431999 ESTABLISHED src=10.10.0.12 dst=10.20.0.10 sport=51234 dport=443 \
        src=10.20.0.10 dst=10.10.0.12 sport=443 dport=51234 [ASSURED] mark=0 use=1
    udp      17 29 src=10.0.0.5 dst=10.0.0.53 sport=40000 dport=53 [UNREPLIED] \
        src=10.0.0.53 dst=10.0.0.5 sport=53 dport=40000 mark=0 use=1

The first tuple is the original direction (who opened the connection), the second the
reply. Under destination NAT the reply comes from the real server, so the destination is
taken from the reply tuple (its ``src`` and ``sport``); the source is the original ``src``.
Also read: the ``-o extended`` prefix (``ipv4 2``), a leading ``[timestamp]``, counters
(``packets=``, ``bytes=``), ``zone=``, ``id=`` and other ``key=value`` fields, flags such
as ``[ASSURED]`` and ``[OFFLOAD]``. A TCP connection marked ``[UNREPLIED]`` was never
answered: it counts as refused. Other protocols (icmp, sctp, …) and the summary line
conntrack prints at the end are skipped and counted, not rejected.
"""

from __future__ import annotations

from collections.abc import Iterable

from menshen.inventory.discovery.records import Addresses, ParseReport, Tally
from menshen.inventory.fields import IPAddress

FORMAT = "conntrack"
_NUMBERS = {"tcp": "6", "udp": "17"}
_TUPLE = ("src", "dst", "sport", "dport")


class _Bad(ValueError):
    """A line that is not a conntrack entry; the message says what is wrong."""


def parse_conntrack(lines: Iterable[tuple[int, str | None]], source: str) -> ParseReport:
    """Every entry of a dump (``(number, text)`` lines, ``None`` for an over-long one)."""
    tally = Tally(source, FORMAT)
    addresses = Addresses()
    for number, text in lines:
        tally.lines = number
        if text is None:
            tally.reject(number, "line too long")
            continue
        read_line(tally, number, text, addresses)
    return tally.report()


def read_line(tally: Tally, number: int, text: str, addresses: Addresses) -> None:
    """Add one line's connection to ``tally`` (or its rejection or skip)."""
    tokens = text.split()
    if not tokens:
        return
    if tokens[0] == "conntrack" and "flow entries have been shown" in text:
        tally.skip("summary line")
        return
    try:
        entry = _entry(tokens, addresses)
    except _Bad as exc:
        tally.reject(number, str(exc))
        return
    if isinstance(entry, str):
        tally.skip(entry)
        return
    protocol, source, destination, port, unreplied = entry
    tcp = protocol == "tcp"
    tally.add(number, source, destination, port, "tcp" if tcp else "udp", refused=unreplied and tcp)


def _entry(
    tokens: list[str], addresses: Addresses
) -> tuple[str, IPAddress, IPAddress, int, bool] | str:
    """(protocol, source, destination, port, unreplied), or a skip reason."""
    position = 0
    if tokens[0].startswith("[") and tokens[0].endswith("]"):
        position += 1  # [1700000000.123456] timestamp
    if len(tokens) > position + 1 and tokens[position] in ("ipv4", "ipv6"):
        if not _digits(tokens[position + 1]):
            raise _Bad(f"layer-3 protocol number {tokens[position + 1]!r} is not a number")
        position += 2
    if len(tokens) < position + 3:
        raise _Bad("not a conntrack entry: expected 'protocol number timeout src=… dst=…'")
    name, number = tokens[position], tokens[position + 1]
    if not _digits(number):
        raise _Bad(f"protocol number {number!r} is not a number")
    if name not in _NUMBERS:
        if "=" in name or not name.isalnum():
            raise _Bad(f"unknown protocol {name!r}")
        return f"protocol {name}: not tcp or udp"
    if number != _NUMBERS[name]:
        raise _Bad(f"protocol {name} has number {_NUMBERS[name]}, not {number}")
    if not _digits(tokens[position + 2]):
        raise _Bad(f"timeout {tokens[position + 2]!r} is not a number")
    tuples, flags = _fields(tokens[position + 3 :], name)
    original = _tuple(tuples[0], "original", addresses)
    if len(tuples) != 2:
        raise _Bad("only one direction: expected the original and the reply tuple")
    reply = _tuple(tuples[1], "reply", addresses)
    source, destination = original[0], reply[0]
    port = reply[2]
    if source.version != destination.version:
        raise _Bad("the two directions mix IPv4 and IPv6")
    return name, source, destination, port, "UNREPLIED" in flags


def _fields(tokens: list[str], protocol: str) -> tuple[list[dict[str, str]], set[str]]:
    tuples: list[dict[str, str]] = [{}]
    flags: set[str] = set()
    for index, token in enumerate(tokens):
        if token.startswith("[") and token.endswith("]") and len(token) > 2:
            flags.add(token[1:-1])
            continue
        key, equals, value = token.partition("=")
        if not equals:
            if index == 0 and protocol == "tcp" and token.replace("_", "").isalpha():
                continue  # the TCP state, e.g. ESTABLISHED
            raise _Bad(f"unexpected {token!r}: expected key=value")
        if key in _TUPLE:
            if key in tuples[-1]:
                if len(tuples) == 2:
                    raise _Bad(f"{key}= appears more than twice")
                tuples.append({})
            tuples[-1][key] = value
    return tuples, flags


def _tuple(
    fields: dict[str, str], which: str, addresses: Addresses
) -> tuple[IPAddress, IPAddress, int, int]:
    missing = [key for key in _TUPLE if key not in fields]
    if missing:
        raise _Bad(f"{which} direction lacks {', '.join(key + '=' for key in missing)}")
    try:
        src = addresses.parse(fields["src"])
        dst = addresses.parse(fields["dst"])
    except ValueError:
        raise _Bad(f"{which} direction: invalid address") from None
    return src, dst, _port(fields["sport"], which), _port(fields["dport"], which)


def _port(text: str, which: str) -> int:
    if not _digits(text) or len(text) > 5 or not 1 <= int(text) <= 65535:
        raise _Bad(f"{which} direction: port {text!r} is not 1-65535")
    return int(text)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
