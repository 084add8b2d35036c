"""An event with what every baseline and detector derives from it, computed once.

Deriving the source network (/24 for IPv4, /48 for IPv6 — the prefixes Entra ID Protection's
"unfamiliar sign-in properties" compare as subnets), the geo-IP place, the user-agent family,
the local hour and the resource key once per event keeps the detector chain to dictionary
lookups (DESIGN.md §7: 50,000 events/s on one core). ``features`` says, as bits, which of
those the event carries, so the detector set skips detectors whose inputs are absent (a LANL
logon has no address, place, session, resource or byte count).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntFlag
from functools import lru_cache
from typing import Protocol

from menshen.monitor.baselines.calendar import LocalClock
from menshen.monitor.model import Entity, EntityKind, EventOutcome, ObservedEvent

__all__ = [
    "ContextBuilder",
    "EventContext",
    "Feature",
    "GeoLookup",
    "Place",
    "network_of",
    "resource_key",
    "subject_of",
]


class Feature(IntFlag):
    """What an event carries (``EventContext.features``). A detector's ``needs`` are the
    features it cannot find anything without: each is a necessary condition it checks
    itself anyway, so skipping it when one is absent changes no result and no state."""

    SUBJECT = 1  # a user, machine client or device the event is about
    PERSON = 2  # ... and it is a user or client, not a device
    USER = 4  # a non-empty user name
    SOURCE_IP = 8  # a non-empty source address
    NETWORK = 16  # the address parsed: its /24 or /48 is known
    LOCATED = 32  # the geo-IP database placed the address (latitude known)
    SESSION = 64  # a session id (possibly empty)
    RESOURCE = 128  # an app or resource path
    BYTES = 256  # bytes sent (non-zero)
    FAILED = 512  # the outcome is a failure
    NOT_FAILED = 1024  # success or unknown
    DEVICE_OR_AGENT = 2048  # a device id (possibly empty) or a user-agent family


_SUBJECT = int(Feature.SUBJECT)
_PERSON = int(Feature.SUBJECT | Feature.PERSON)
_USER = int(Feature.USER)
_SOURCE_IP = int(Feature.SOURCE_IP)
_NETWORK = int(Feature.NETWORK)
_LOCATED = int(Feature.LOCATED)
_SESSION = int(Feature.SESSION)
_RESOURCE = int(Feature.RESOURCE)
_BYTES = int(Feature.BYTES)
_FAILED = int(Feature.FAILED)
_NOT_FAILED = int(Feature.NOT_FAILED)
_DEVICE_OR_AGENT = int(Feature.DEVICE_OR_AGENT)
_FAILURE = EventOutcome.FAILURE
_DEVICE = EntityKind.DEVICE
_USER_CACHE = 65_536


@dataclass(frozen=True, slots=True)
class Place:
    """Where an address is, per the firm's geo-IP database (any field may be unknown)."""

    latitude: float | None = None
    longitude: float | None = None
    accuracy_km: float = 0.0
    country: str | None = None
    asn: int | None = None
    asn_org: str | None = None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class GeoLookup(Protocol):
    def locate(self, ip: str) -> Place | None: ...


@lru_cache(maxsize=16384)
def network_of(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) prefix of ``ip``; None if it is not an address."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version == 4:
        return str(ipaddress.IPv4Network((int(address) & 0xFFFFFF00, 24)))
    mapped = address.ipv4_mapped
    if mapped is not None:
        return network_of(str(mapped))
    return str(ipaddress.IPv6Network((int(address) >> 80 << 80, 48)))


@lru_cache(maxsize=65536)
def resource_key(app: str | None, resource: str | None, depth: int) -> str | None:
    """``app:/first/segments`` — the resource a path belongs to, bounded to ``depth`` parts."""
    if app is None and resource is None:
        return None
    path = (resource or "").split("?", 1)[0]
    parts = [part for part in path.split("/") if part][:depth]
    return f"{app or '-'}:/{'/'.join(parts)}"


def subject_of(event: ObservedEvent) -> Entity | None:
    """Who the event is about: the user, else the machine client, else the device."""
    if event.user:
        return _entity(EntityKind.USER, event.user)
    if event.client_id:
        return _entity(EntityKind.CLIENT, event.client_id)
    if event.device_id:
        return _entity(EntityKind.DEVICE, event.device_id)
    return None


@lru_cache(maxsize=65536)
def _entity(kind: EntityKind, entity_id: str) -> Entity:
    return Entity(kind, entity_id)  # shared: the same few subjects recur in every event


class EventContext:
    """``event`` plus its derived figures; ``epoch`` is ``event.at`` in seconds and
    ``features`` the ``Feature`` bits of what it carries.

    Read-only by convention: a plain slotted class rather than a frozen dataclass, because
    it is built once per event on the hot path and a frozen dataclass pays an
    ``object.__setattr__`` per field (measured: a third of the context's cost).
    """

    __slots__ = (
        "agent",
        "day",
        "epoch",
        "event",
        "features",
        "hour_of_week",
        "month_end",
        "network",
        "peer_group",
        "place",
        "resource",
        "subject",
    )

    def __init__(
        self,
        event: ObservedEvent,
        epoch: float,
        subject: Entity | None,
        network: str | None,
        place: Place | None,
        agent: str | None,
        resource: str | None,
        hour_of_week: int,
        month_end: bool,
        day: int,
        peer_group: str | None,
        features: int = 0,
    ) -> None:
        self.event = event
        self.epoch = epoch
        self.subject = subject
        self.network = network
        self.place = place
        self.agent = agent
        self.resource = resource
        self.hour_of_week = hour_of_week
        self.month_end = month_end
        self.day = day
        self.peer_group = peer_group
        self.features = features

    @classmethod
    def build(
        cls,
        event: ObservedEvent,
        *,
        clock: LocalClock,
        geo: GeoLookup | None,
        agent_family: Callable[[str | None], str],
        peer_group: Callable[[str], str | None] | None = None,
        path_depth: int = 2,
    ) -> EventContext:
        """One event's context (see ``ContextBuilder`` to derive many with one setting)."""
        return ContextBuilder(
            clock=clock,
            geo=geo,
            agent_family=agent_family,
            peer_group=peer_group,
            path_depth=path_depth,
        )(event)


class ContextBuilder:
    """Derives ``EventContext`` values with one tenant's clock, geo-IP database, user-agent
    families, peer groups and path depth (built once; called per event)."""

    __slots__ = ("_agent", "_clock", "_depth", "_geo", "_last", "_peer_group", "_users")

    def __init__(
        self,
        *,
        clock: LocalClock,
        geo: GeoLookup | None,
        agent_family: Callable[[str | None], str],
        peer_group: Callable[[str], str | None] | None = None,
        path_depth: int = 2,
    ) -> None:
        self._clock = clock
        self._geo = geo
        self._agent = agent_family
        self._peer_group = peer_group
        self._depth = path_depth
        # the last event time with its epoch and local hour: sources that stamp whole
        # seconds (LANL) hand over the same datetime for a run of events
        self._last: tuple[datetime | None, float, int, bool, int] = (None, 0.0, 0, False, 0)
        self._users: dict[str, Entity] = {}  # user name -> its (shared) Entity

    def __call__(self, event: ObservedEvent) -> EventContext:
        at = event.at
        last = self._last
        if last[0] is at:
            _, epoch, how, month_end, day = last
        else:
            epoch = at.timestamp()
            how, month_end, day = self._clock.hour(epoch)
            self._last = (at, epoch, how, month_end, day)
        user = event.user
        src_ip = event.src_ip
        features = _FAILED if event.outcome is _FAILURE else _NOT_FAILED
        if user:
            subject: Entity | None = self._users.get(user)
            if subject is None:
                if len(self._users) >= _USER_CACHE:
                    self._users.clear()
                subject = self._users[user] = Entity(EntityKind.USER, user)
            features |= _PERSON | _USER
        elif event.client_id:
            subject = _entity(EntityKind.CLIENT, event.client_id)
            features |= _PERSON
        elif event.device_id:
            subject = _entity(_DEVICE, event.device_id)
            features |= _SUBJECT
        else:
            subject = None
        network = place = None
        if src_ip:
            features |= _SOURCE_IP
            network = network_of(src_ip)
            if network is not None:
                features |= _NETWORK
            geo = self._geo
            if geo is not None:
                place = geo.locate(src_ip)
                if place is not None and place.latitude is not None:
                    features |= _LOCATED
        agent = None
        if event.user_agent:
            agent = self._agent(event.user_agent)
            features |= _DEVICE_OR_AGENT
        elif event.device_id is not None:
            features |= _DEVICE_OR_AGENT
        app, path = event.app, event.resource
        resource = None
        if app is not None or path is not None:
            resource = resource_key(app, path, self._depth)
            features |= _RESOURCE
        if event.session_id is not None:
            features |= _SESSION
        if event.bytes_out:
            features |= _BYTES
        peer_group = self._peer_group
        return EventContext(
            event,
            epoch,
            subject,
            network,
            place,
            agent,
            resource,
            how,
            month_end,
            day,
            peer_group(user) if peer_group is not None and user else None,
            features,
        )
