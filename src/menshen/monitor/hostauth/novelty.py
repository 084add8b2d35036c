"""New user→computer and computer→computer pairs: the first step of lateral movement.

An intruder who has one machine and some credentials reaches further by logging on to
machines that account (or that machine) has never logged on to before. The published work on
the LANL data keys on exactly this: Bowman et al. (RAID 2020) embed the user/computer
authentication graph and score unlikely edges (85% detection at 0.9% false-positive rate);
Euler (NDSS 2022) predicts edges of a temporal graph. Without a graph model, the same signal
is "this edge was never seen", weighted by how surprising *any* new edge is for the entity:
a user who always reaches the same two servers and suddenly reaches a third is far more
suspicious than an administrator who roams (see ``Profile.novelty_bits``). An entity never
seen at all is judged one level up, by how often the network shows a never-seen entity
(``ProfileTable.newcomer_bits``): on a mature network a computer nobody has seen before is
rare, and on a young one it is not.

Pure: ``bits`` reads, ``learn`` writes; times are POSIX seconds.
"""

from __future__ import annotations

from menshen.monitor.hostauth.profiles import ProfileLimits, ProfileTable
from menshen.monitor.model import EvidenceValue

__all__ = ["NewPairDetector"]


class NewPairDetector:
    """``entity`` → ``peer`` edges: surprise (bits) of an edge the entity never made."""

    __slots__ = ("name", "table")

    def __init__(self, name: str, limits: ProfileLimits) -> None:
        self.name = name
        self.table = ProfileTable(limits)

    def bits(self, entity: str | None, peer: str | None, at: float) -> float:
        """0 for a known edge or a missing name; else the entity's novelty surprise."""
        if entity is None or peer is None:
            return 0.0
        profile = self.table.get(entity, at)
        if profile is None:
            return self.table.newcomer_bits()
        if peer in profile.seen:
            return 0.0
        return profile.novelty_bits()

    def learn(self, entity: str | None, peer: str | None, at: float) -> None:
        if entity is not None and peer is not None:
            self.table.observe(entity, peer, at)

    def evidence(self, entity: str, at: float) -> dict[str, EvidenceValue]:
        """What the entity's history looked like when the edge was judged new."""
        profile = self.table.get(entity, at)
        if profile is None:
            return {"history": 0}
        return {"known_peers": len(profile.seen), "history": round(profile.total, 1)}
