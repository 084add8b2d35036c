"""How baselines learn: the firm's time zone, the learning period, decay and memory bounds.

Defaults and where they come from (docs/monitoring.md "Baselines"):

* Learning period — Entra ID Protection's atypical-travel model learns for "the earlier of
  14 days or 10 logins" and its unfamiliar-properties model for at least 5 days; a profile is
  *mature* once it is ``min_learning_days`` old and either ``learning_days`` old or has seen
  ``learning_signins`` sign-ins. Entra also restarts learning after long inactivity
  (``relearn_after``).
* Half-life — 14 days for the decayed counters (Splunk UBA models 30 days of history; a
  half-life of 14 days keeps most of the weight inside that window).
* Bounds — every per-entity collection is capped (``TopK``), so one entity costs at most a
  few kilobytes however many values it has seen; the book caps the number of entities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from menshen.errors import ConfigError

__all__ = ["DEFAULT_TIME_ZONE", "BaselineConfig"]

DEFAULT_TIME_ZONE = "Asia/Taipei"
_TAIPEI = ZoneInfo(DEFAULT_TIME_ZONE)


@dataclass(frozen=True, slots=True)
class BaselineConfig:
    """One tenant's baseline settings."""

    time_zone: ZoneInfo = _TAIPEI
    half_life: timedelta = timedelta(days=14)
    learning_days: float = 14.0
    min_learning_days: float = 5.0
    learning_signins: int = 10
    relearn_after: timedelta = timedelta(days=60)
    # EWMA half-lives counted in observations: ~100 active hours (about two and a half
    # working weeks) for hourly volume, 3 month-ends for the month-end class, 50 sessions.
    hourly_half_life: float = 100.0
    month_end_half_life: float = 3.0
    session_half_life: float = 50.0
    # Memory bounds per entity (keys kept in each top-K) and per book (entities kept).
    top_networks: int = 32
    top_asns: int = 16
    top_countries: int = 16
    top_devices: int = 16
    top_agents: int = 16
    top_apps: int = 64
    top_paths: int = 128
    open_sessions: int = 8
    max_entities: int = 200_000
    max_peer_groups: int = 1_000
    path_depth: int = 2  # /app/a/b/c is learnt as /a/b: resources, not every URL
    # ``relearn_after`` in seconds, derived once (read on every event)
    relearn_seconds: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.half_life <= timedelta(0) or self.relearn_after <= timedelta(0):
            raise ConfigError("baseline half-life and relearn period must be positive")
        if not (0 < self.min_learning_days <= self.learning_days):
            raise ConfigError("min_learning_days must lie in (0, learning_days]")
        if self.learning_signins < 1 or self.max_entities < 1:
            raise ConfigError("learning_signins and max_entities must be at least 1")
        object.__setattr__(self, "relearn_seconds", self.relearn_after.total_seconds())

    @classmethod
    def for_zone(cls, name: str) -> BaselineConfig:
        """Defaults in the firm's IANA time zone ``name``; ConfigError if unknown."""
        try:
            return cls(time_zone=ZoneInfo(name))
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ConfigError(f"unknown time zone {name!r}") from exc
