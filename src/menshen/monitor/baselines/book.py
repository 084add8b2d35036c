"""Every entity's profile in one tenant, plus the firm-wide facts detectors compare with.

Besides one ``Profile`` per user, machine client, device and source network, the book keeps
a resource top-K per peer group (users sharing the same groups — Splunk UBA's peer-group
baselines) and the places the firm's users sign in from (Entra ID Protection's atypical
travel "ignores locations other users of the firm use"). Detectors read it through
``BaselineView``; only ``observe`` changes it, after the detectors ran on the event.

Bounds: at most ``max_entities`` profiles (the least recently seen tenth is dropped when
full), ``max_peer_groups`` peer top-Ks and ``_MAX_CELLS`` firm places of ``_CELL_USERS``
users each. Profiles are keyed by ``(kind, id)`` tuples (hashed in C: this is the hot path),
and the subject's profile and maturity are looked up once per event for all detectors.
"""

from __future__ import annotations

from typing import Protocol

from menshen.monitor.baselines.config import BaselineConfig
from menshen.monitor.baselines.context import EventContext
from menshen.monitor.baselines.decay import TopK
from menshen.monitor.baselines.profile import Profile
from menshen.monitor.model import Entity, EntityKind

__all__ = ["BaselineBook", "BaselineView", "place_cell"]

_MAX_CELLS = 512
_CELL_USERS = 8
_CELL_STALE = 30 * 86400.0  # a user not seen at a place for 30 days makes room for another
_DEVICE = EntityKind.DEVICE
_NETWORK = EntityKind.NETWORK

Key = tuple[EntityKind, str]


def place_cell(latitude: float, longitude: float) -> str:
    """A one-degree grid cell (about 110 km): the granularity of a "firm location"."""
    return f"{round(latitude)}:{round(longitude)}"


class BaselineView(Protocol):
    """What detectors may read (never write) of a tenant's baselines."""

    @property
    def config(self) -> BaselineConfig: ...
    def profile(self, entity: Entity) -> Profile | None: ...
    def mature(self, entity: Entity, epoch: float) -> bool: ...
    def subject_profile(self, ctx: EventContext) -> Profile | None: ...
    def subject_mature(self, ctx: EventContext) -> bool: ...
    def mature_subject_profile(self, ctx: EventContext) -> Profile | None: ...
    def peer_share(self, group: str, resource: str) -> float | None: ...
    def firm_users_at(self, latitude: float, longitude: float, besides: str) -> int: ...


class BaselineBook:
    """The mutable baselines of one tenant (``BaselineView`` for readers)."""

    __slots__ = ("_cached", "_cells", "_config", "_dirty", "_peers", "_profiles")

    def __init__(self, config: BaselineConfig) -> None:
        self._config = config
        self._profiles: dict[Key, Profile] = {}
        self._peers: dict[str, TopK] = {}
        self._cells: dict[str, dict[str, float]] = {}
        self._dirty: set[Key] = set()
        self._cached: tuple[EventContext | None, Profile | None, bool] = (None, None, False)

    @property
    def config(self) -> BaselineConfig:
        return self._config

    def __len__(self) -> int:
        return len(self._profiles)

    # -- BaselineView -------------------------------------------------------------------------
    def profile(self, entity: Entity) -> Profile | None:
        return self._profiles.get((entity.kind, entity.id))

    def mature(self, entity: Entity, epoch: float) -> bool:
        profile = self._profiles.get((entity.kind, entity.id))
        return profile is not None and profile.mature(epoch, self._config)

    def subject_profile(self, ctx: EventContext) -> Profile | None:
        """The profile of ``ctx.subject`` as it was before this event (looked up once)."""
        return self._lookup(ctx)[1]

    def subject_mature(self, ctx: EventContext) -> bool:
        return self._lookup(ctx)[2]

    def mature_subject_profile(self, ctx: EventContext) -> Profile | None:
        """The subject's profile if it is past learning, else None (one call for both)."""
        cached = self._cached
        if cached[0] is not ctx:
            cached = self._lookup(ctx)
        return cached[1] if cached[2] else None

    def _lookup(self, ctx: EventContext) -> tuple[EventContext | None, Profile | None, bool]:
        cached = self._cached
        if cached[0] is ctx:
            return cached
        subject = ctx.subject
        profile = None if subject is None else self._profiles.get((subject.kind, subject.id))
        mature = profile is not None and profile.mature(ctx.epoch, self._config)
        self._cached = cached = (ctx, profile, mature)
        return cached

    def peer_share(self, group: str, resource: str) -> float | None:
        """The peer group's decayed share of ``resource``; None if the group is unknown."""
        top = self._peers.get(group)
        return None if top is None else top.share(resource)

    def firm_users_at(self, latitude: float, longitude: float, besides: str) -> int:
        """How many users other than ``besides`` were seen at this place's grid cell."""
        users = self._cells.get(place_cell(latitude, longitude))
        if not users:
            return 0
        return len(users) - (1 if besides in users else 0)

    # -- learning -----------------------------------------------------------------------------
    def observe(self, ctx: EventContext) -> None:
        """Learn from one event (call after the detectors have seen it)."""
        self._cached = (None, None, False)
        event = ctx.event
        epoch = ctx.epoch
        subject = ctx.subject
        signin = False
        if subject is not None:
            key = (subject.kind, subject.id)
            profile = self._profiles.get(key)
            if profile is None:
                profile = self._profile_for(key, epoch)
            signin = profile.observe(ctx, self._config)
            self._dirty.add(key)
        device = event.device_id
        if device and (subject is None or subject.kind is not _DEVICE):
            key = (_DEVICE, device)
            self._profile_for(key, epoch).observe_light(ctx, self._config)
            self._dirty.add(key)
        if ctx.network is not None:
            key = (_NETWORK, ctx.network)
            self._profile_for(key, epoch).observe_light(ctx, self._config)
            self._dirty.add(key)
        if ctx.peer_group is not None and ctx.resource is not None:
            self._peer(ctx.peer_group).add(ctx.resource, epoch, 1.0)
        place = ctx.place
        if signin and event.user and place is not None and place.latitude is not None:
            assert place.longitude is not None
            self._remember_cell(place_cell(place.latitude, place.longitude), event.user, epoch)

    def put(self, entity: Entity, profile: Profile) -> None:
        """Install a loaded profile (start-up)."""
        self._profiles[(entity.kind, entity.id)] = profile

    def take_dirty(self) -> list[tuple[Entity, Profile]]:
        """The profiles changed since the last call (for batched saving)."""
        profiles = self._profiles
        changed = [(Entity(k[0], k[1]), profiles[k]) for k in self._dirty if k in profiles]
        self._dirty.clear()
        return changed

    def firm_state(self) -> tuple[dict[str, TopK], dict[str, dict[str, float]]]:
        """The peer-group top-Ks and firm places (for saving; do not mutate)."""
        return self._peers, self._cells

    def restore_firm(self, peers: dict[str, TopK], cells: dict[str, dict[str, float]]) -> None:
        self._peers = dict(list(peers.items())[-self._config.max_peer_groups :])
        self._cells = dict(list(cells.items())[-_MAX_CELLS:])

    def entities(self) -> list[Entity]:
        return [Entity(kind, entity_id) for kind, entity_id in self._profiles]

    def _profile_for(self, key: Key, epoch: float) -> Profile:
        profile = self._profiles.get(key)
        if profile is None:
            if len(self._profiles) >= self._config.max_entities:
                self._evict()
            profile = self._profiles[key] = Profile(self._config, epoch)
        return profile

    def _evict(self) -> None:
        by_age = sorted(self._profiles, key=lambda k: self._profiles[k].last_seen)
        for key in by_age[: max(1, len(by_age) // 10)]:
            del self._profiles[key]
            self._dirty.discard(key)

    def _peer(self, group: str) -> TopK:
        top = self._peers.get(group)
        if top is None:
            if len(self._peers) >= self._config.max_peer_groups:
                self._peers.pop(next(iter(self._peers)))
            top = self._peers[group] = TopK(self._config.top_paths * 2)
        return top

    def _remember_cell(self, cell: str, user: str, epoch: float) -> None:
        users = self._cells.get(cell)
        if users is None:
            if len(self._cells) >= _MAX_CELLS:
                self._cells.pop(next(iter(self._cells)))
            users = self._cells[cell] = {}
        if user in users:
            users[user] = epoch
            return
        if len(users) >= _CELL_USERS:
            oldest = min(users, key=users.__getitem__)
            if epoch - users[oldest] < _CELL_STALE:
                return  # the cell is known to be shared; no need to track more users
            del users[oldest]
        users[user] = epoch
