"""All enabled detectors of one tenant, run on each event before its baselines learn it.

Order matters: detectors see the baselines as they were *before* the event (a new network is
new only once), then ``BaselineBook.observe`` folds it in. The engine calls ``process`` for
each normalised event; the result is a list shared by nobody (usually the empty tuple).
Throughput: one ``EventContext`` per event; only the detectors of the event's category whose
declared inputs (``needs``, ``Feature`` bits) the event carries are called; detectors return
a shared empty tuple when quiet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from menshen.monitor.baselines import (
    BaselineBook,
    BaselineConfig,
    BaselineView,
    ContextBuilder,
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

Detect = Callable[[EventContext, BaselineView], Sequence[Finding]]


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

    __slots__ = ("_book", "_by_category", "_derive", "_detectors", "_plans")

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
        # Per category and ``Feature`` bits, the detect methods whose needs the event meets
        # (filled on first sight: at most 2**12 feature sets per category).
        self._plans: dict[Category, dict[int, tuple[Detect, ...]]] = {c: {} for c in Category}
        self._book = book
        if agent_family is None:
            from menshen.sessions.useragent import user_agent_family

            agent_family = user_agent_family
        self._derive = ContextBuilder(
            clock=LocalClock(book.config.time_zone),
            geo=geo,
            agent_family=agent_family,
            peer_group=peer_group,
            path_depth=book.config.path_depth,
        )

    @property
    def book(self) -> BaselineBook:
        return self._book

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self._detectors)

    def context(self, event: ObservedEvent) -> EventContext:
        return self._derive(event)

    def process(self, event: ObservedEvent) -> Sequence[Finding]:
        """Findings about ``event`` (empty almost always); then learn from it."""
        ctx = self._derive(event)
        category = event.category
        plan = self._plans[category].get(ctx.features)
        if plan is None:
            plan = self._plan(category, ctx.features)
        book = self._book
        found: list[Finding] | None = None
        for detect in plan:
            result = detect(ctx, book)
            if result:
                if found is None:
                    found = list(result)
                else:
                    found.extend(result)
        book.observe(ctx)
        return found or ()

    def learn(self, event: ObservedEvent) -> None:
        """Learn from ``event`` without detecting (rebuilding baselines from history)."""
        self._book.observe(self._derive(event))

    def _plan(self, category: Category, features: int) -> tuple[Detect, ...]:
        """The detectors of ``category`` whose declared ``needs`` (``Feature`` bits, none if
        a detector declares none) are all in ``features``, in registration order."""
        plan = tuple(
            d.detect
            for d in self._by_category[category]
            if int(getattr(d, "needs", 0)) & ~features == 0
        )
        self._plans[category][features] = plan
        return plan


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
