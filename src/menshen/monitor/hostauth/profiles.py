"""Per-entity memory of what an entity has done: decaying counts, bounded in size.

Every host-authentication detector asks one of two questions of an entity's history:
"has it done this before, and how often does it do new things?" (novelty) and "how usual
is this value for it?" (rarity). Both need the same state: for each entity (a user, a
source computer, a destination computer), the values seen with a count that halves every
``half_life`` seconds, so behaviour that stopped months ago is forgotten and a pair unused
for long is new again (Entra ID Protection re-learns after long inactivity; Splunk UBA keeps
30 days). Memory is bounded twice: at most ``max_items`` values per entity (the weakest are
dropped) and at most ``max_entities`` entities (the least recently seen eighth is dropped
when full), so a flood of invented names costs a fixed amount of memory.

Pure: times are POSIX seconds passed in; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import log2

from menshen.errors import InvalidInput

__all__ = ["Population", "Profile", "ProfileLimits", "ProfileTable"]

# A decayed count below this is forgotten (about six half-lives after a single sighting).
_FORGET_BELOW = 1.0 / 64.0
# Decay is applied lazily, at most this often per entity (in half-lives): cheap and exact
# enough for counts that only ever compare with each other.
_DECAY_STEP = 1.0 / 32.0
# Authentication and logon types are a short list; more distinct values is junk input.
_MAX_POPULATION_VALUES = 1024


@dataclass(frozen=True, slots=True)
class ProfileLimits:
    """How long and how much an entity table remembers."""

    half_life_seconds: float = 14 * 86400.0
    max_items: int = 512
    max_entities: int = 200_000

    def __post_init__(self) -> None:
        if self.half_life_seconds <= 0 or self.max_items < 1 or self.max_entities < 8:
            raise InvalidInput("half life must be positive, max_items >= 1, max_entities >= 8")


class Profile:
    """One entity's decaying counts: ``seen`` value -> count, ``total`` their sum."""

    __slots__ = ("last", "seen", "total")

    def __init__(self, at: float) -> None:
        self.seen: dict[str, float] = {}
        self.total = 0.0
        self.last = at

    def decay_to(self, at: float, half_life: float) -> None:
        elapsed = at - self.last
        if elapsed < half_life * _DECAY_STEP:
            return
        factor = 0.5 ** (elapsed / half_life)
        kept = {value: count * factor for value, count in self.seen.items()}
        self.seen = {value: count for value, count in kept.items() if count >= _FORGET_BELOW}
        self.total = sum(self.seen.values())
        self.last = at

    def novelty_bits(self) -> float:
        """Surprise, in bits, of seeing a value this entity has never shown.

        The chance of a new value is estimated as (distinct + 1) / (total + 2): an entity that
        went to the same two hosts a hundred times makes a new host about 5 bits surprising;
        one that roams over fifty hosts in sixty logons makes it well under one bit; an entity
        with no history gives 1 bit (a coin toss: nothing is known).
        """
        return -log2((len(self.seen) + 1.0) / (self.total + 2.0))

    def rarity_bits(self, value: str, prior: float, weight: float) -> float:
        """Surprise of ``value`` for this entity, shrunk towards the population ``prior``.

        P = (count + weight * prior) / (total + weight): with no history it is the population's
        frequency, with a long history the entity's own (additive smoothing with a prior).
        """
        count = self.seen.get(value, 0.0)
        return -log2((count + weight * prior) / (self.total + weight))


class ProfileTable:
    """Entity name -> ``Profile``, with the limits above."""

    __slots__ = (
        "_half_life",
        "_max_entities",
        "_max_items",
        "_step",
        "entities_seen",
        "observed",
        "profiles",
    )

    def __init__(self, limits: ProfileLimits) -> None:
        self._half_life = limits.half_life_seconds
        self._step = limits.half_life_seconds * _DECAY_STEP
        self._max_items = limits.max_items
        self._max_entities = limits.max_entities
        self.profiles: dict[str, Profile] = {}
        self.entities_seen = 0  # entities ever added (evicted ones included)
        self.observed = 0  # observations ever counted

    def __len__(self) -> int:
        return len(self.profiles)

    def newcomer_bits(self) -> float:
        """Surprise, in bits, of an entity this table has never seen.

        The same estimate as ``Profile.novelty_bits`` one level up: (entities + 1) /
        (observations + 2) is the chance that the next observation names a new entity.
        """
        return -log2((self.entities_seen + 1.0) / (self.observed + 2.0))

    def get(self, entity: str, at: float) -> Profile | None:
        """The entity's profile decayed to ``at``, or None if it has no history."""
        profile = self.profiles.get(entity)
        if profile is not None and at - profile.last >= self._step:
            profile.decay_to(at, self._half_life)
        return profile

    def observe(self, entity: str, value: str, at: float) -> None:
        """Count one sighting of ``value`` for ``entity`` at ``at``."""
        profile = self.profiles.get(entity)
        if profile is None:
            if len(self.profiles) >= self._max_entities:
                self._evict_stale()
            profile = self.profiles[entity] = Profile(at)
            self.entities_seen += 1
        elif at - profile.last >= self._step:
            profile.decay_to(at, self._half_life)
        seen = profile.seen
        count = seen.get(value)
        if count is None:
            if len(seen) >= self._max_items:
                weakest = min(seen, key=seen.__getitem__)
                profile.total -= seen.pop(weakest)
            seen[value] = 1.0
        else:
            seen[value] = count + 1.0
        profile.total += 1.0
        self.observed += 1
        if at > profile.last:
            profile.last = at

    def _evict_stale(self) -> None:
        by_age = sorted(self.profiles.items(), key=lambda item: item[1].last)
        for name, _ in by_age[: max(1, len(by_age) // 8)]:
            del self.profiles[name]


class Population:
    """Counts over every entity together: the prior for entities with little history."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts: dict[str, float] = {}
        self.total = 0.0

    def observe(self, value: str) -> None:
        count = self.counts.get(value)
        if count is None:
            if len(self.counts) >= _MAX_POPULATION_VALUES:
                return  # a flood of invented values is not learned
            count = 0.0
        self.counts[value] = count + 1.0
        self.total += 1.0

    def prior(self, value: str) -> float:
        """P(value) with add-one smoothing over the values seen plus one unseen."""
        return (self.counts.get(value, 0.0) + 1.0) / (self.total + len(self.counts) + 1.0)
