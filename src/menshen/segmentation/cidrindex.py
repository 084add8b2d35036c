"""Which CIDR-keyed items contain an address, without testing every block.

``Segmentation.allows`` asks, for a destination address, which rules name a zone whose CIDRs
contain it; ``zones_of`` asks which zones do. Testing the address against every block costs
one comparison per rule; this index answers with one dictionary look-up per distinct prefix
length (RFC 4632 §3.1: an address is in a block when its first ``prefixlen`` bits equal the
block's). A policy uses a handful of prefix lengths, so a look-up is a few steps whatever
the number of rules. The answer is exactly the keys whose blocks contain the address, in the
order the items were given: the index is a shortcut for ``any(address in net ...)``, not a
second reading of the policy (tests/segmentation/test_cidrindex.py holds it to that).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Generic, TypeVar

from menshen.inventory.fields import IPAddress, Network

K = TypeVar("K", bound=Hashable)

_WIDTH = {4: 32, 6: 128}


class CidrIndex(Generic[K]):
    """Keys by address block: ``lookup(address)`` gives the keys whose blocks contain it."""

    __slots__ = ("_blocks", "_order")

    def __init__(self, items: Iterable[tuple[K, Sequence[Network]]]) -> None:
        order: dict[K, int] = {}
        # version -> prefix length -> masked network address -> keys
        blocks: dict[int, dict[int, dict[int, list[K]]]] = {4: {}, 6: {}}
        for key, networks in items:
            order.setdefault(key, len(order))
            for network in networks:
                by_start = blocks[network.version].setdefault(network.prefixlen, {})
                keys = by_start.setdefault(int(network.network_address), [])
                if key not in keys:
                    keys.append(key)
        self._order = order
        self._blocks = {
            version: tuple(
                (_mask(prefix, _WIDTH[version]), {start: tuple(keys) for start, keys in by.items()})
                for prefix, by in sorted(lengths.items())
            )
            for version, lengths in blocks.items()
        }

    def lookup(self, address: IPAddress) -> tuple[K, ...]:
        """Every key with a block containing ``address``, in the order the items came."""
        value = int(address)
        found: list[K] = []
        for mask, by_start in self._blocks[address.version]:
            keys = by_start.get(value & mask)
            if keys is not None:
                found.extend(keys)
        if len(found) < 2:
            return tuple(found)
        order = self._order
        return tuple(sorted(set(found), key=order.__getitem__))

    def __bool__(self) -> bool:
        return any(self._blocks.values())


def _mask(prefix: int, width: int) -> int:
    """The netmask of a ``prefix``-bit block as an integer."""
    return ((1 << prefix) - 1) << (width - prefix)
