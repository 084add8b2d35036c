"""A source computer the domain has never seen, in any role: population-level surprise.

A machine that appears from nowhere and starts logging on to others is how an intruder's own
box, a freshly built jump host or a renamed foothold shows up in Windows logs (Kent 2015,
doi:10.17021/1179829: LANL's red-team sources were computers with no earlier history). How
surprising that is depends on the network, not on the machine (which has no history): on a
mature domain a never-seen computer is rare, on a young one (or one whose inventory churns)
it is not. So the surprise is ``ProfileTable.newcomer_bits`` over *every* computer seen as a
source or a destination: (computers + 1) / (sightings + 2) estimates the chance that the next
sighting names a computer never seen.

A computer seen only as a destination is not first-seen: its first logon *out* is judged by
the new computer→computer pair instead (``novelty``), and the detectors never count the same
newcomer twice. Memory and decay are the profile table's (``profiles``). Pure.
"""

from __future__ import annotations

from menshen.monitor.hostauth.profiles import ProfileLimits, ProfileTable
from menshen.monitor.model import EvidenceValue

__all__ = ["FirstSeenComputer"]

_SOURCE = "source"
_DESTINATION = "destination"


class FirstSeenComputer:
    """Every computer the domain has shown, as source or destination, with decaying counts."""

    __slots__ = ("name", "table")

    def __init__(self, name: str, limits: ProfileLimits) -> None:
        self.name = name
        self.table = ProfileTable(limits)

    def first_seen(self, computer: str | None, at: float) -> bool:
        """Whether ``computer`` was never seen in any role (False for a missing name)."""
        return computer is not None and self.table.get(computer, at) is None

    def bits(self, computer: str | None, at: float) -> float:
        """The domain's newcomer surprise for a never-seen computer, else 0."""
        return self.table.newcomer_bits() if self.first_seen(computer, at) else 0.0

    def learn(self, source: str | None, destination: str | None, at: float) -> None:
        if source is not None:
            self.table.observe(source, _SOURCE, at)
        if destination is not None and destination != source:
            self.table.observe(destination, _DESTINATION, at)

    def evidence(self) -> dict[str, EvidenceValue]:
        """How much of the domain had been seen when the computer was judged new."""
        return {
            "computers_known": len(self.table),
            "computer_sightings": self.table.observed,
        }
