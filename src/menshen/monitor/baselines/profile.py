"""One entity's learnt behaviour: when, from where, with what, to what, and how much.

Memory per profile is bounded by ``BaselineConfig``: 168 hour bins, at most
``top_networks + top_asns + top_countries + top_devices + top_agents + top_apps + top_paths``
(288 by default) keyed weights with first/last-seen times, ``open_sessions`` running session
totals, four EWMA triples and the last located sign-in — a few kilobytes of JSON at most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from menshen.monitor.baselines.config import BaselineConfig
from menshen.monitor.baselines.context import EventContext, Place
from menshen.monitor.baselines.decay import Decay, Ewma, Histogram, TopK, alpha_for_half_life
from menshen.monitor.model import Category, EventOutcome

__all__ = ["LastPlace", "Profile"]

_SESSION_IDLE = 2 * 3600.0  # a session silent this long is over (twice the idle timeout)
_SESSION_LIFE = 12 * 3600.0  # the longest a session lives (the default absolute timeout)
_RENORMALISE = 40.0  # the decay exponent past which the landmark moves (see decay.py)
_AUTHENTICATION = Category.AUTHENTICATION
_SUCCESS = EventOutcome.SUCCESS
_FAILURE = EventOutcome.FAILURE


@dataclass(frozen=True, slots=True)
class LastPlace:
    """Where the entity's last located, non-failed events came from (for travel checks);
    ``epoch`` is the first event at this address, ``Profile.last_place_epoch`` the latest."""

    epoch: float
    latitude: float
    longitude: float
    accuracy_km: float
    country: str | None
    asn: int | None
    ip: str


class Profile:
    """Decayed counters of one entity; mutated only by ``observe``."""

    __slots__ = (
        "agents",
        "apps",
        "asns",
        "countries",
        "decay",
        "devices",
        "events",
        "first_seen",
        "hour_bucket",
        "hour_bytes",
        "hour_count",
        "hour_month_end",
        "hourly_bytes",
        "hourly_requests",
        "hours",
        "last_place",
        "last_place_epoch",
        "last_seen",
        "learning_since",
        "month_end_bytes",
        "networks",
        "paths",
        "session_bytes",
        "sessions",
        "signins",
    )

    def __init__(self, config: BaselineConfig, epoch: float) -> None:
        self.decay = Decay(config.half_life.total_seconds(), epoch)
        self.first_seen = epoch
        self.last_seen = epoch
        self.learning_since = epoch
        self.events = 0
        self.signins = 0
        self.hours = Histogram(168)
        self.networks = TopK(config.top_networks)
        self.asns = TopK(config.top_asns)
        self.countries = TopK(config.top_countries)
        self.devices = TopK(config.top_devices)
        self.agents = TopK(config.top_agents)
        self.apps = TopK(config.top_apps)
        self.paths = TopK(config.top_paths)
        hourly = alpha_for_half_life(config.hourly_half_life)
        self.hourly_bytes = Ewma(hourly)
        self.hourly_requests = Ewma(hourly)
        self.month_end_bytes = Ewma(alpha_for_half_life(config.month_end_half_life))
        self.session_bytes = Ewma(alpha_for_half_life(config.session_half_life))
        self.hour_bucket = -1  # epoch hour of the bucket being filled
        self.hour_count = 0
        self.hour_bytes = 0
        self.hour_month_end = False
        self.sessions: dict[str, list[float]] = {}  # id -> [bytes, last seen, started]
        self.last_place: LastPlace | None = None  # where the current place was first seen
        self.last_place_epoch = 0.0  # the latest event at ``last_place``

    # -- reading ------------------------------------------------------------------------------
    def mature(self, epoch: float, config: BaselineConfig) -> bool:
        """Past the learning period (see ``BaselineConfig``)."""
        days = (epoch - self.learning_since) / 86400.0
        if days < config.min_learning_days:
            return False
        return days >= config.learning_days or self.signins >= config.learning_signins

    def pending_hour_bytes(self, epoch: float) -> int:
        """Bytes already counted in the hour ``epoch`` falls in."""
        return self.hour_bytes if int(epoch // 3600) == self.hour_bucket else 0

    def open_session_bytes(self, session_id: str | None, epoch: float) -> float:
        """Bytes of the session ``session_id`` so far (0 once past its lifetime)."""
        if session_id is None:
            return 0.0
        entry = self.sessions.get(session_id)
        if entry is None or epoch - entry[2] > _SESSION_LIFE:
            return 0.0
        return entry[0]

    # -- learning -----------------------------------------------------------------------------
    def observe(self, ctx: EventContext, config: BaselineConfig) -> bool:
        """Fold one event of this subject in; True if it counted as a sign-in."""
        epoch = ctx.epoch
        event = ctx.event
        weight = self._touch(epoch, config)
        signin = False
        if event.category is _AUTHENTICATION and event.outcome is _SUCCESS:
            signin = True
        elif event.session_id and event.session_id not in self.sessions:
            signin = True  # a session first seen stands for one sign-in
        if signin:
            self.signins += 1
        hours = self.hours
        hours.bins[ctx.hour_of_week] += weight  # Histogram.add, inlined (once per event)
        hours.total += weight
        self._volume(ctx, config, sessions=True)
        if ctx.network is not None:
            self.networks.add(ctx.network, epoch, weight)
        place = ctx.place
        if place is not None:
            if place.asn is not None:
                self.asns.add(str(place.asn), epoch, weight)
            if place.country:
                self.countries.add(place.country, epoch, weight)
            if place.latitude is not None and event.outcome is not _FAILURE:
                self._moved(place, event.src_ip or "", epoch)
        if event.device_id:
            self.devices.add(event.device_id, epoch, weight)
        if ctx.agent is not None:
            self.agents.add(ctx.agent, epoch, weight)
        if event.app:
            self.apps.add(event.app, epoch, weight)
        if ctx.resource is not None:
            self.paths.add(ctx.resource, epoch, weight)
        return signin

    def observe_light(self, ctx: EventContext, config: BaselineConfig) -> None:
        """Fold in an event about another subject seen through this device or network:
        activity hours and hourly volume only."""
        self.hours.add(ctx.hour_of_week, self._touch(ctx.epoch, config))
        self._volume(ctx, config, sessions=False)

    def _touch(self, epoch: float, config: BaselineConfig) -> float:
        """Count an event at ``epoch``; its weight (``Decay.scale``, computed inline)."""
        last_seen = self.last_seen
        if epoch - last_seen > config.relearn_seconds:
            self.learning_since = epoch
        if epoch > last_seen:
            self.last_seen = epoch
        self.events += 1
        decay = self.decay
        exponent = decay.rate * (epoch - decay.landmark)
        if exponent > _RENORMALISE:
            self._renormalise(epoch)
            exponent = decay.rate * (epoch - decay.landmark)
        return math.exp(exponent)

    def _moved(self, place: Place, ip: str, epoch: float) -> None:
        last = self.last_place
        if last is None or last.ip != ip:
            assert place.latitude is not None
            assert place.longitude is not None
            self.last_place = LastPlace(
                epoch,
                place.latitude,
                place.longitude,
                place.accuracy_km,
                place.country,
                place.asn,
                ip,
            )
        self.last_place_epoch = epoch

    def _volume(self, ctx: EventContext, config: BaselineConfig, *, sessions: bool) -> None:
        bucket = int(ctx.epoch // 3600)
        if bucket != self.hour_bucket:
            self._close_hour()
            self.hour_bucket = bucket
            self.hour_month_end = ctx.month_end
        self.hour_count += 1
        event = ctx.event
        if event.bytes_out:
            self.hour_bytes += event.bytes_out
        session_id = event.session_id
        if session_id is None or not sessions:
            return
        entry = self.sessions.get(session_id)
        if entry is not None and ctx.epoch - entry[2] > _SESSION_LIFE:
            # Past the absolute lifetime the id stands for a new session (a reused id).
            self.session_bytes.add(self.sessions.pop(session_id)[0])
            entry = None
        if entry is None:
            if len(self.sessions) >= config.open_sessions:
                self._close_sessions(ctx.epoch)
            entry = self.sessions[session_id] = [0.0, ctx.epoch, ctx.epoch]
        entry[0] += ctx.event.bytes_out
        entry[1] = ctx.epoch

    def _close_hour(self) -> None:
        # An hour on the month's last business day is learnt apart from ordinary hours.
        if self.hour_bucket >= 0 and self.hour_count:
            if self.hour_month_end:
                self.month_end_bytes.add(self.hour_bytes)
            else:
                self.hourly_bytes.add(self.hour_bytes)
            self.hourly_requests.add(self.hour_count)
        self.hour_count = 0
        self.hour_bytes = 0

    def _close_sessions(self, epoch: float) -> None:
        idle = [sid for sid, entry in self.sessions.items() if epoch - entry[1] > _SESSION_IDLE]
        if not idle:  # none is over: close the longest-silent one to stay within the bound
            idle = [min(self.sessions, key=lambda sid: self.sessions[sid][1])]
        for sid in idle:
            self.session_bytes.add(self.sessions.pop(sid)[0])

    def _renormalise(self, epoch: float) -> None:
        factor = 1.0 / self.decay.scale(epoch)
        self.decay.landmark = epoch
        self.hours.rescale(factor)
        for top in (
            self.networks,
            self.asns,
            self.countries,
            self.devices,
            self.agents,
            self.apps,
            self.paths,
        ):
            top.rescale(factor)
