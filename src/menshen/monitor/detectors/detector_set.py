"""All enabled detectors of one tenant, run on each event before its baselines learn it.

Order matters: detectors see the baselines as they were *before* the event (a new network is
new only once), then ``BaselineBook.observe`` folds it in. The engine calls ``process`` for
each normalised event; the result is a list shared by nobody (usually the empty tuple).
Throughput: one ``EventContext`` per event, detectors return a shared empty tuple when quiet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from menshen.monitor.baselines import (
    BaselineBook,
    BaselineConfig,
    EventContext,
    GeoLookup,
    LocalClock,
)
from menshen.monitor.detectors.bad_ip import BadIpList, KnownBadIp
from menshen.monitor.detectors.base import Detector
from menshen.monitor.detectors.brute_force import BruteForce
from menshen.monitor.detectors.hours import UnusualHours
from menshen.monitor.detectors.mfa_fatigue import MfaFatigue
from menshen.monitor.detectors.new_device import NewDevice
from menshen.monitor.detectors.new_network import NewNetwork
from menshen.monitor.detectors.rare_resource import RareResource
from menshen.monitor.detectors.session_reuse import SessionReuse
from menshen.monitor.detectors.sigma_rules import SigmaRules
from menshen.monitor.detectors.spray import PasswordSpray
from menshen.monitor.detectors.travel import ImpossibleTravel
from menshen.monitor.detectors.volume import UnusualVolume
from menshen.monitor.model import Category, Finding, ObservedEvent
from menshen.monitor.sigma import Rule, compile_rule

__all__ = ["DetectorOptions", "DetectorSet", "default_detectors"]


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    """A tenant's detector choices: which run, and the firm facts they need."""

    disabled: frozenset[str] = frozenset()
    vpn_asns: frozenset[int] = frozenset()  # the firm's VPN / relay / satellite providers
    shared_sources: frozenset[str] = frozenset()  # its gateways, proxies, federation servers
    bad_networks: BadIpList | None = None
    rules: tuple[Rule, ...] = ()  # compiled per detector set: count windows are per tenant


def default_detectors(options: DetectorOptions) -> list[Detector]:
    """Every built-in detector with the documented thresholds, minus the disabled ones."""
    every: list[Detector] = [
        ImpossibleTravel(vpn_asns=options.vpn_asns),
        NewDevice(),
        NewNetwork(vpn_asns=options.vpn_asns),
        UnusualHours(),
        UnusualVolume(),
        RareResource(),
        PasswordSpray(exempt_sources=options.shared_sources),
        BruteForce(),
        MfaFatigue(),
        SessionReuse(exempt_sources=options.shared_sources),
        KnownBadIp(networks=options.bad_networks or BadIpList(())),
        SigmaRules(tuple(compile_rule(rule) for rule in options.rules)),
    ]
    return [d for d in every if d.name not in options.disabled]


class DetectorSet:
    """Runs detectors on an event, then lets the baselines learn from it."""

    __slots__ = (
        "_agent",
        "_book",
        "_by_category",
        "_clock",
        "_depth",
        "_detectors",
        "_geo",
        "_peer_group",
    )

    def __init__(
        self,
        detectors: Iterable[Detector],
        book: BaselineBook,
        *,
        geo: GeoLookup | None = None,
        agent_family: Callable[[str | None], str] | None = None,
        peer_group: Callable[[str], str | None] | None = None,
    ) -> None:
        self._detectors = tuple(detectors)
        # Per category, only the detectors that look at it (computed once).
        self._by_category = {
            category: tuple(
                d for d in self._detectors if d.categories is None or category in d.categories
            )
            for category in Category
        }
        self._book = book
        self._geo = geo
        self._clock = LocalClock(book.config.time_zone)
        self._depth = book.config.path_depth
        self._peer_group = peer_group
        if agent_family is None:
            from menshen.sessions.useragent import user_agent_family

            agent_family = user_agent_family
        self._agent = agent_family

    @property
    def book(self) -> BaselineBook:
        return self._book

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self._detectors)

    def context(self, event: ObservedEvent) -> EventContext:
        return EventContext.build(
            event,
            clock=self._clock,
            geo=self._geo,
            agent_family=self._agent,
            peer_group=self._peer_group,
            path_depth=self._depth,
        )

    def process(self, event: ObservedEvent) -> Sequence[Finding]:
        """Findings about ``event`` (empty almost always); then learn from it."""
        ctx = self.context(event)
        book = self._book
        found: list[Finding] | None = None
        for detector in self._by_category[event.category]:
            result = detector.detect(ctx, book)
            if result:
                if found is None:
                    found = list(result)
                else:
                    found.extend(result)
        book.observe(ctx)
        return found or ()

    def learn(self, event: ObservedEvent) -> None:
        """Learn from ``event`` without detecting (rebuilding baselines from history)."""
        self._book.observe(self.context(event))


def new_detector_set(
    config: BaselineConfig,
    options: DetectorOptions,
    *,
    geo: GeoLookup | None = None,
    peer_group: Callable[[str], str | None] | None = None,
) -> DetectorSet:
    """A fresh book and the default detectors (tests, benchmarks, the engine at start)."""
    return DetectorSet(
        default_detectors(options), BaselineBook(config), geo=geo, peer_group=peer_group
    )
