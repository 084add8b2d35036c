"""Rare authentication package or logon type, for the user or for the destination.

In a Kerberos domain, an NTLM network logon to a server that only ever sees Kerberos is the
classic trace of pass-the-hash (Windows 4624 with logon type 3 and package NTLM); an
interactive or cleartext logon by an account that only ever logs on over the network is
another. The LANL red-team events are nearly all ``NTLM,Network,LogOn`` (see the dataset's
README and Kent 2015). Elastic's "rare" authentication jobs and Splunk UBA's rare-access
models are the commercial form of the same idea: how unusual is this value *for this
entity*, not for the whole network.

The estimate is the entity's own frequency shrunk towards the population's (see
``Profile.rarity_bits``), so an entity with no history is judged by what is usual for
everyone. A value counts only when its probability is under ``rare_below``; then its
surprise in bits is the signal. Unknown values (``?`` in LANL, absent fields) say nothing.
"""

from __future__ import annotations

from math import log2

from menshen.monitor.hostauth.profiles import Population, ProfileLimits, ProfileTable
from menshen.monitor.model import EvidenceValue

__all__ = ["RareValueDetector"]


class RareValueDetector:
    """One categorical field (``auth_type`` or ``logon_type``) per entity (user or host)."""

    __slots__ = ("_rare_below", "_weight", "name", "population", "table")

    def __init__(
        self,
        name: str,
        limits: ProfileLimits,
        population: Population,
        rare_below: float,
        prior_weight: float,
    ) -> None:
        self.name = name
        self.table = ProfileTable(limits)
        self.population = population
        self._weight = prior_weight
        self._rare_below = rare_below

    def bits(self, entity: str | None, value: str | None, at: float) -> float:
        """The value's surprise for the entity if it is rare, else 0."""
        if entity is None or value is None:
            return 0.0
        prior = self.population.prior(value)
        profile = self.table.get(entity, at)
        if profile is None:
            chance = prior
        else:
            weight = self._weight
            chance = (profile.seen.get(value, 0.0) + weight * prior) / (profile.total + weight)
        # compared before taking the logarithm: most values are not rare
        return -log2(chance) if chance <= self._rare_below else 0.0

    def learn(self, entity: str | None, value: str | None, at: float) -> None:
        if entity is not None and value is not None:
            self.table.observe(entity, value, at)

    def evidence(self, entity: str, value: str, at: float) -> dict[str, EvidenceValue]:
        profile = self.table.get(entity, at)
        seen = 0.0 if profile is None else profile.seen.get(value, 0.0)
        total = 0.0 if profile is None else profile.total
        return {
            "times_seen": round(seen, 1),
            "history": round(total, 1),
            "population_share": round(self.population.prior(value), 4),
        }
