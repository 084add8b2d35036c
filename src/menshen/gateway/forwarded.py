"""Which address is the client: ``X-Forwarded-For`` from trusted proxies only.

The de-facto ``X-Forwarded-For`` list (the syntax RFC 7239 §5.2 standardised as ``for=``)
is believed only when the TCP peer is a configured trusted proxy. The effective client is
the rightmost address of ``chain + [peer]`` that is not itself a trusted proxy (each proxy
appends what it saw; only the part written by our own proxies can be believed).

Fail closed (reference list item 15): from a trusted peer, an unparsable list (a name, an
empty element, more than ``MAX_HOPS`` hops, more than ``MAX_LENGTH`` characters) is a 400,
never "skip the header and carry on".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from menshen.errors import ProtocolError

__all__ = ["MAX_HOPS", "MAX_LENGTH", "ForwardedRejected", "TrustedProxies"]

MAX_HOPS = 20
MAX_LENGTH = 2048
_CACHE_SIZE = 4096

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ForwardedRejected(ProtocolError):
    """An ``X-Forwarded-For`` from a trusted proxy that cannot be parsed; answered with 400."""

    kind = "bad_forwarded_for"

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class TrustedProxies:
    """The set of networks whose forwarding headers are believed."""

    __slots__ = ("_cache", "_networks")

    def __init__(self, cidrs: Iterable[str]) -> None:
        self._networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in cidrs
        )
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self._networks)

    def contains(self, ip: str) -> bool:
        """Whether ``ip`` (a textual address) lies in a trusted network; False if invalid."""
        if not self._networks:
            return False
        known = self._cache.get(ip)
        if known is not None:
            return known
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        result = self._contains(address)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[ip] = result
        return result

    def _contains(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == net.version and address in net for net in self._networks)

    def client_ip(self, peer_ip: str, forwarded_for: Sequence[str]) -> tuple[str, str]:
        """Return (effective client address, the ``X-Forwarded-For`` value to send upstream).

        ``forwarded_for`` holds every received ``X-Forwarded-For`` value, in order.
        """
        if not forwarded_for or not self.contains(peer_ip):
            return peer_ip, peer_ip
        chain = parse_forwarded_for(forwarded_for)
        client = chain[0]
        for address in reversed(chain):
            if not self.contains(address):
                client = address
                break
        return client, ", ".join([*chain, peer_ip])


def parse_forwarded_for(values: Sequence[str]) -> list[str]:
    """Parse and normalise an ``X-Forwarded-For`` list, or raise ``ForwardedRejected``."""
    joined = ",".join(values)
    if len(joined) > MAX_LENGTH:
        raise ForwardedRejected("X-Forwarded-For is too long")
    parts = joined.split(",")
    if len(parts) > MAX_HOPS:
        raise ForwardedRejected("X-Forwarded-For has too many hops")
    chain: list[str] = []
    for part in parts:
        text = part.strip(" \t")
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        try:
            chain.append(ipaddress.ip_address(text).compressed)
        except ValueError:
            raise ForwardedRejected("X-Forwarded-For holds something that is not an IP") from None
    return chain
