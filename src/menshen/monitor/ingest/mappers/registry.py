"""The mappers by name, as ``menshen.yaml`` and ``menshen monitor source add --format`` say."""

from __future__ import annotations

from collections.abc import Callable

from menshen.monitor.ingest.mappers.lanl import map_lanl
from menshen.monitor.ingest.mappers.linux_auth import map_linux_auth
from menshen.monitor.ingest.mappers.native import map_native
from menshen.monitor.ingest.mappers.ocsf import map_ocsf
from menshen.monitor.ingest.mappers.windows import map_windows
from menshen.monitor.ingest.reject import MapContext
from menshen.monitor.model import ObservedEvent

__all__ = ["MAPPERS", "Mapper"]

Mapper = Callable[[str, MapContext, str], ObservedEvent]

MAPPERS: dict[str, Mapper] = {
    "menshen": map_native,
    "ocsf": map_ocsf,
    "windows": map_windows,
    "linux-auth": map_linux_auth,
    "lanl": map_lanl,
}
