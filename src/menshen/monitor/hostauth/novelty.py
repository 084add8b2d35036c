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

The same detector keyed user → *source* computer asks "has this account ever logged on from
that machine?": stolen credentials are replayed from the intruder's foothold, not from the
owner's workstation (Kent 2015, doi:10.17021/1179829; ATT&CK T1550.002). There an account
with no history scores 0 (``newcomers=False``): the user→destination pair already counts an
unknown user's newness once.

Pure: ``bits`` reads, ``learn`` writes; times are POSIX seconds.
"""

from __future__ import annotations

from menshen.monitor.hostauth.profiles import ProfileLimits, ProfileTable
from menshen.monitor.model import EvidenceValue

__all__ = ["NewPairDetector"]


class NewPairDetector:
    """``entity`` → ``peer`` edges: surprise (bits) of an edge the entity never made."""

    __slots__ = ("name", "newcomers", "table")

    def __init__(self, name: str, limits: ProfileLimits, *, newcomers: bool = True) -> None:
        self.name = name
        self.table = ProfileTable(limits)
        # False: an entity with no history scores 0 here, because another signal already
        # counts its newness (an unknown user is scored once, by the user→computer pair)
        self.newcomers = newcomers

    def bits(self, entity: str | None, peer: str | None, at: float) -> float:
        """0 for a known edge or a missing name; else the entity's novelty surprise."""
        if entity is None or peer is None:
            return 0.0
        profile = self.table.get(entity, at)
        if profile is None:
            return self.table.newcomer_bits() if self.newcomers else 0.0
        if peer in profile.seen:
            return 0.0
        return profile.novelty_bits()

    def is_new(self, entity: str, peer: str, at: float) -> bool:
        """Whether the entity never made this edge (or has no history at all)."""
        profile = self.table.get(entity, at)
        return profile is None or peer not in profile.seen

    def learn(self, entity: str | None, peer: str | None, at: float) -> None:
        if entity is not None and peer is not None:
            self.table.observe(entity, peer, at)

    def evidence(self, entity: str, at: float) -> dict[str, EvidenceValue]:
        """What the entity's history looked like when the edge was judged new."""
        profile = self.table.get(entity, at)
        if profile is None:
            return {"history": 0}
        return {"known_peers": len(profile.seen), "history": round(profile.total, 1)}
