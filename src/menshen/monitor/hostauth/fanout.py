"""Fan-out of one source computer: many distinct destinations, or accounts, in a window.

After the first foothold an intruder sweeps: one source authenticates to many machines in a
short time (the LANL red-team's busiest source reached dozens of destinations a day). Elastic
ships "high count of logon events from one source"; Splunk UBA's volume models fire when a
count exceeds a ratio of the entity's own mean *and* an absolute floor, which is the rule here:
distinct destinations of a source in a tumbling window, compared with the largest count the
source showed in earlier windows (decaying, so a server's old sweep does not excuse it for
ever). A source with no history is judged against the floor alone. The same rule counts the
distinct *accounts* authenticating from the source: an intruder replaying harvested
credentials from one foothold (the LANL red team used over a hundred accounts, most from one
computer) looks like Sigma's password-spray correlation, many users from one source.

The window's own count is measured whatever happens; only windows that raised no fan-out
finding become the source's baseline, so an attack does not raise the bar for the next one.
Memory: at most ``max_tracked`` destinations per window (the count saturates) and the
profile limits' number of sources.
"""

from __future__ import annotations

from math import log2

from menshen.monitor.hostauth.profiles import ProfileLimits
from menshen.monitor.model import EvidenceValue

__all__ = ["FanOutDetector"]


class SourceWindow:
    __slots__ = ("account_peak", "accounts", "alerted", "destinations", "last", "peak", "window")

    def __init__(self, window: int, at: float) -> None:
        self.window = window
        self.destinations: set[str] = set()
        self.accounts: set[str] = set()
        self.peak = 0.0  # the largest clean window count so far, decayed
        self.account_peak = 0.0
        self.alerted = False  # the window raised a signal or held unlearned events
        self.last = at


class FanOutDetector:
    """Distinct destinations per source computer per window, over the source's own peak."""

    __slots__ = (
        "_floor",
        "_half_life",
        "_max_sources",
        "_max_tracked",
        "_ratio",
        "_window",
        "name",
        "sources",
    )

    def __init__(
        self,
        name: str,
        limits: ProfileLimits,
        *,
        window_seconds: float,
        floor: int,
        ratio: float,
        max_tracked: int,
    ) -> None:
        self.name = name
        self.sources: dict[str, SourceWindow] = {}
        self._window = window_seconds
        self._floor = floor
        self._ratio = ratio
        self._max_tracked = max_tracked
        self._half_life = limits.half_life_seconds
        self._max_sources = limits.max_entities

    def bits(
        self, source: str | None, destination: str | None, account: str | None, at: float
    ) -> float:
        """Surprise of the window's distinct destinations or accounts (with this event) above
        the source's bar, whichever is larger; 0 below both bars."""
        if source is None or destination is None or source == destination:
            return 0.0
        state = self._current(source, at)
        found = self._over(
            len(state.destinations) + (destination not in state.destinations), state.peak
        )
        if account is not None:
            accounts = len(state.accounts) + (account not in state.accounts)
            found = max(found, self._over(accounts, state.account_peak))
        if found:
            state.alerted = True
        return found

    def _over(self, count: int, peak: float) -> float:
        if count < max(float(self._floor), self._ratio * peak):
            return 0.0
        return 1.0 + log2(count / max(peak, self._floor / 2.0))

    def count(
        self,
        source: str | None,
        destination: str | None,
        account: str | None,
        at: float,
        *,
        learn: bool = True,
    ) -> None:
        """Add the event to the source's current window (the measurement); with ``learn``
        false the window will not become part of the source's baseline."""
        if source is None or destination is None or source == destination:
            return
        state = self._current(source, at)
        if len(state.destinations) < self._max_tracked:
            state.destinations.add(destination)
        if account is not None and len(state.accounts) < self._max_tracked:
            state.accounts.add(account)
        if not learn:
            state.alerted = True
        state.last = at

    def evidence(self, source: str, at: float) -> dict[str, EvidenceValue]:
        state = self._current(source, at)
        return {
            "destinations_in_window": len(state.destinations),
            "accounts_in_window": len(state.accounts),
            "window_seconds": self._window,
            "own_peak_destinations": round(state.peak, 1),
            "own_peak_accounts": round(state.account_peak, 1),
        }

    def _current(self, source: str, at: float) -> SourceWindow:
        window = int(at // self._window)
        state = self.sources.get(source)
        if state is None:
            if len(self.sources) >= self._max_sources:
                self._evict_stale()
            state = self.sources[source] = SourceWindow(window, at)
            return state
        if window != state.window:
            if window < state.window:
                return state  # late event: counted in the current window
            elapsed = (window - state.window) * self._window
            factor = 0.5 ** (elapsed / self._half_life)
            clean = not state.alerted
            state.peak = max(state.peak * factor, float(len(state.destinations) * clean))
            state.account_peak = max(
                state.account_peak * factor, float(len(state.accounts) * clean)
            )
            state.window = window
            state.destinations = set()
            state.accounts = set()
            state.alerted = False
        return state

    def _evict_stale(self) -> None:
        by_age = sorted(self.sources.items(), key=lambda item: item[1].last)
        for name, _ in by_age[: max(1, len(by_age) // 8)]:
            del self.sources[name]
