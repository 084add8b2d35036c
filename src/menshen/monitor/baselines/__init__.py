"""Per-entity behavioural baselines that learn online (issue 6 item 2).

Pure core: ``decay`` (bounded decaying counters), ``calendar`` (firm-local hours),
``context`` (what is derived from an event once), ``profile`` (one entity), ``book`` (a
tenant's profiles and firm-wide facts), ``codec`` (versioned JSON). Edges: ``persist``
(load and batched save through the store) and ``rebuild`` (re-learn from the audit log).
"""

from menshen.monitor.baselines.book import BaselineBook, BaselineView
from menshen.monitor.baselines.calendar import LocalClock
from menshen.monitor.baselines.config import DEFAULT_TIME_ZONE, BaselineConfig
from menshen.monitor.baselines.context import (
    ContextBuilder,
    EventContext,
    Feature,
    GeoLookup,
    Place,
)
from menshen.monitor.baselines.profile import LastPlace, Profile

__all__ = [
    "DEFAULT_TIME_ZONE",
    "BaselineBook",
    "BaselineConfig",
    "BaselineView",
    "ContextBuilder",
    "EventContext",
    "Feature",
    "GeoLookup",
    "LastPlace",
    "LocalClock",
    "Place",
    "Profile",
]
