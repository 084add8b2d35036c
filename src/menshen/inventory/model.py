"""What a firm has: assets, the data stores on them, and the data flows between them.

"Before you secure your environment, you must know what you are securing" (NIST SP 800-207
§7.3, NIST CSF 2.0 ID.AM-01..-03 and ID.AM-07 for the inventories of assets, services, flows
and data). Every value is frozen and canonical (lists sorted and de-duplicated, spellings
normalised) so that two inputs meaning the same thing are equal values: that is what makes
``import(export(x)) == x`` hold for YAML and CSV. ``origin`` (where a value was read) is
never part of equality.

Data classes: a classification from the four levels used across menshen (public, internal,
confidential, restricted — the ladder of ISO/IEC 27001:2022 A.5.12), plus free tags such as
``pii``, ``card-data`` (PCI DSS v4.0 "account data"), ``settlement`` or ``credentials``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from menshen.inventory.fields import (
    IPAddress,
    Network,
    check_dns_name,
    check_id,
    check_label_key,
    check_label_value,
    check_tag,
    check_text,
    format_network,
    network_key,
)
from menshen.inventory.problems import Origin

Protocol = Literal["tcp", "udp"]
PROTOCOLS: tuple[Protocol, ...] = ("tcp", "udp")
Endpoint = str | IPAddress
"""One end of a flow: an asset id (``str``), or an IP address not necessarily in the inventory."""


class Classification(StrEnum):
    """How sensitive data is, from least to most; ``rank`` orders them (0..3)."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @classmethod
    def parse(cls, value: str) -> Classification:
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(level.value for level in cls)
            raise ValueError(
                f"unknown classification {value!r} (expected one of {known})"
            ) from None


_RANKS = {level: rank for rank, level in enumerate(Classification)}


class AssetKind(StrEnum):
    """What an asset is; third-party and partner APIs are outside the firm's network."""

    HOST = "host"
    SERVICE = "service"
    DATABASE = "database"
    SAAS = "saas"
    THIRD_PARTY_API = "third_party_api"
    PARTNER_API = "partner_api"
    WORKSTATION = "workstation"

    @classmethod
    def parse(cls, value: str) -> AssetKind:
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(kind.value for kind in cls)
            raise ValueError(f"unknown asset kind {value!r} (expected one of {known})") from None


class Labels(Mapping[str, str]):
    """An immutable, hashable, sorted label map (``role``, ``app``, ``env``, ``location``…)."""

    __slots__ = ("_items", "_map")

    def __init__(self, labels: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = labels.items() if isinstance(labels, Mapping) else labels
        mapping = {check_label_key(key): check_label_value(value) for key, value in pairs}
        self._items = tuple(sorted(mapping.items()))
        self._map = dict(self._items)

    def __getitem__(self, key: str) -> str:
        return self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Labels({self._map!r})"

    def with_label(self, key: str, value: str) -> Labels:
        return Labels({**self._map, key: value})


@dataclass(frozen=True, slots=True, order=True)
class PortRange:
    """A protocol and an inclusive port range (1–65535); written ``tcp/443``, ``udp/8000-8100``."""

    protocol: Protocol
    first: int
    last: int

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r} (expected tcp or udp)")
        for port in (self.first, self.last):
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"port {port!r} is out of range 1-65535")
        if self.first > self.last:
            raise ValueError(f"port range {self.first}-{self.last} is backwards")

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """``tcp/443`` or ``udp/8000-8100``; ``ValueError`` naming what is wrong."""
        protocol, slash, ports = text.strip().partition("/")
        if not slash or protocol not in PROTOCOLS:
            raise ValueError(f"invalid port {text!r}: write protocol/port, e.g. tcp/5432")
        low, dash, high = ports.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()) or len(ports) > 11:
            raise ValueError(f"invalid port {text!r}: write protocol/port, e.g. tcp/8000-8100")
        first, last = int(low), int(high) if dash else int(low)
        return cls("tcp" if protocol == "tcp" else "udp", first, last)

    @classmethod
    def single(cls, protocol: Protocol, port: int) -> PortRange:
        return cls(protocol, port, port)

    def covers(self, protocol: str, port: int) -> bool:
        return protocol == self.protocol and self.first <= port <= self.last

    def __str__(self) -> str:
        if self.first == self.last:
            return f"{self.protocol}/{self.first}"
        return f"{self.protocol}/{self.first}-{self.last}"


def _ports(ports: Iterable[PortRange]) -> tuple[PortRange, ...]:
    return tuple(sorted(set(ports)))


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({check_tag(tag) for tag in tags}))


def _set(owner: object, name: str, value: object) -> None:
    object.__setattr__(owner, name, value)


@dataclass(frozen=True, slots=True)
class Asset:
    """Something the firm runs or depends on, where it is reached, and who answers for it.

    ``networks`` are the IP addresses (as /32 or /128) and CIDR blocks the asset owns;
    ``dns_names`` its host names (a SaaS app may have only these); ``ports`` the services it
    listens on; ``gateway_apps`` the menshen Apps that front it. The environment is the
    ``env`` label.
    """

    id: str
    kind: AssetKind
    name: str = ""
    owner: str = ""
    labels: Labels = field(default_factory=Labels)
    networks: tuple[Network, ...] = ()
    dns_names: tuple[str, ...] = ()
    ports: tuple[PortRange, ...] = ()
    gateway_apps: tuple[str, ...] = ()
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_id(self.id, "asset id")
        _set(self, "kind", AssetKind.parse(self.kind))
        check_text(self.name, "name")
        check_text(self.owner, "owner")
        _set(self, "networks", tuple(sorted(set(self.networks), key=network_key)))
        _set(self, "dns_names", tuple(sorted({check_dns_name(name) for name in self.dns_names})))
        _set(self, "ports", _ports(self.ports))
        apps = {check_id(app, "gateway app name") for app in self.gateway_apps}
        _set(self, "gateway_apps", tuple(sorted(apps)))

    @property
    def environment(self) -> str:
        """The ``env`` label ("" when unset)."""
        return self.labels.get("env", "")

    @property
    def title(self) -> str:
        return self.name or self.id

    @property
    def addresses(self) -> tuple[str, ...]:
        """Networks (a single host as a bare address) then host names, as written back."""
        return tuple(format_network(net) for net in self.networks) + self.dns_names

    def owns(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


@dataclass(frozen=True, slots=True)
class DataStore:
    """Data at rest on an asset: a database schema, a bucket, a file share, a SaaS workspace."""

    id: str
    asset: str
    classification: Classification
    name: str = ""
    tags: tuple[str, ...] = ()
    records: int | None = None
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_id(self.id, "data store id")
        check_id(self.asset, "asset id")
        _set(self, "classification", Classification.parse(self.classification))
        check_text(self.name, "name")
        _set(self, "tags", _tags(self.tags))
        records = self.records
        if records is not None and (isinstance(records, bool) or records < 0):
            raise ValueError(f"record count {records!r} must be a whole number >= 0")

    @property
    def title(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class DataFlow:
    """Data in motion, as the firm declares it: who sends what to whom, on which ports, why."""

    id: str
    source: str
    destination: str
    ports: tuple[PortRange, ...]
    classification: Classification
    tags: tuple[str, ...] = ()
    purpose: str = ""
    encrypted: bool = False
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_id(self.id, "flow id")
        check_id(self.source, "asset id")
        check_id(self.destination, "asset id")
        if not self.ports:
            raise ValueError("a flow needs at least one port (e.g. tcp/443)")
        _set(self, "ports", _ports(self.ports))
        _set(self, "classification", Classification.parse(self.classification))
        _set(self, "tags", _tags(self.tags))
        check_text(self.purpose, "purpose")


@dataclass(frozen=True, slots=True)
class ObservedFlow:
    """A connection seen on the wire (gateway events, flow logs): the input to drift checks."""

    source: Endpoint
    destination: Endpoint
    port: int
    protocol: Protocol = "tcp"
    count: int = 1
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        PortRange.single(self.protocol, self.port)  # validates protocol and port
        if self.count < 1:
            raise ValueError(f"count {self.count!r} must be at least 1")


def endpoint_text(endpoint: Endpoint) -> str:
    return endpoint if isinstance(endpoint, str) else str(endpoint)


def parse_endpoint(text: str) -> Endpoint:
    """An IP address, or else an asset id."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return check_id(text, "asset id or IP address")
