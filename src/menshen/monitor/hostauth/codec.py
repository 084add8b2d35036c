"""Host-authentication state as versioned JSON documents (``{"v": 1, ...}``), the form the
store keeps in ``monitor_baselines`` under kind ``hostauth`` — so a restart does not forget
which users, computers and edges are normal (NIST SP 800-92 §5.3: keep what the analysis
needs across restarts; Kent 2015, doi:10.17021/1179829, for what the state describes).

One snapshot is a ``meta`` document (populations, table counters, how many chunks each part
has, a generation number) plus chunks of at most ``chunk`` entities (``<part>/<n>``), so no
row grows with the domain; every document carries the generation, and a chunk of another
generation (left over from a larger earlier snapshot, or written half-way through a save that
failed) makes the whole load refuse. The state is bounded by the detectors' own limits
(entities per table, values per entity, destinations per window), so the snapshot is too.

A document of another version, a missing chunk or a broken one raises ``InvalidInput``; the
caller starts the detectors afresh (they learn again from the stream) rather than guess.
Floats pass through JSON unchanged, so a loaded model judges an event exactly as the saved
one did. Pure: documents in and out; reading and writing rows is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from menshen.errors import InvalidInput
from menshen.monitor.hostauth.detect import HostAuthDetectors
from menshen.monitor.hostauth.fanout import SourceWindow
from menshen.monitor.hostauth.profiles import Population, Profile, ProfileTable
from menshen.monitor.hostauth.settings import HostAuthSettings
from menshen.monitor.hostauth.spread import SpreadDay

__all__ = ["KIND", "META_ID", "VERSION", "StatePart", "dump_state", "load_state"]

KIND = "hostauth"
META_ID = "meta"
VERSION = 1
CHUNK = 500
_TABLES = (
    "new_user_host",
    "new_host_pair",
    "new_user_source",
    "first_seen_source",
    "rare_auth_user",
    "rare_auth_host",
    "rare_auth_source",
    "rare_logon_user",
    "rare_logon_host",
)
_WINDOWS = ("fan_out", "source_spread")


@dataclass(frozen=True, slots=True)
class StatePart:
    """One row of a snapshot: its entity id in the store and its document."""

    entity_id: str
    document: dict[str, Any]


def _table(detectors: HostAuthDetectors, name: str) -> ProfileTable:
    table: ProfileTable = getattr(detectors, name).table
    return table


def _chunks(items: list[tuple[str, Any]], size: int) -> Iterator[dict[str, Any]]:
    for start in range(0, len(items), size):
        yield dict(items[start : start + size])


def dump_state(
    detectors: HostAuthDetectors, generation: int, *, chunk: int = CHUNK
) -> list[StatePart]:
    """The detectors' learned state as rows: each part's chunks, then ``meta`` (written last,
    so a save that fails half-way leaves chunks the old ``meta`` refuses). A copy: the
    detectors may go on learning while the rows are written."""
    if chunk < 1:
        raise InvalidInput("a snapshot chunk holds at least one entity")
    parts: list[StatePart] = []
    counts: dict[str, int] = {}
    entries: dict[str, list[tuple[str, Any]]] = {
        name: [
            (entity, [p.last, p.total, dict(p.seen)])
            for entity, p in _table(detectors, name).profiles.items()
        ]
        for name in _TABLES
    }
    entries["fan_out"] = [
        (s, [w.window, w.peak, w.account_peak, w.alerted, w.last, list(w.destinations),
             list(w.accounts)])
        for s, w in detectors.fan_out.sources.items()
    ]  # fmt: skip
    entries["source_spread"] = [
        (s, [d.window, d.last, list(d.new_destinations)])
        for s, d in detectors.source_spread.sources.items()
    ]
    for name, items in entries.items():
        chunks = list(_chunks(items, chunk))
        counts[name] = len(chunks)
        parts += [
            StatePart(f"{name}/{n}", {"v": VERSION, "g": generation, "entities": body})
            for n, body in enumerate(chunks)
        ]
    meta = {
        "v": VERSION,
        "g": generation,
        "chunks": counts,
        "counters": {
            name: [_table(detectors, name).entities_seen, _table(detectors, name).observed]
            for name in _TABLES
        },
        "populations": {
            "auth_types": [detectors.auth_types.total, dict(detectors.auth_types.counts)],
            "logon_types": [detectors.logon_types.total, dict(detectors.logon_types.counts)],
        },
    }
    return [*parts, StatePart(META_ID, meta)]


def load_state(
    get: Callable[[str], dict[str, Any] | None], settings: HostAuthSettings | None = None
) -> HostAuthDetectors | None:
    """Detectors holding the snapshot ``get`` (entity id → document or None) reads; None when
    nothing was saved; ``InvalidInput`` for another version, a missing or stale chunk."""
    meta = get(META_ID)
    if meta is None:
        return None
    generation = _checked(meta, None)
    detectors = HostAuthDetectors(settings)
    try:
        for name in _TABLES:
            entities_seen, observed = meta["counters"][name]
            table = _table(detectors, name)
            for entity, (last, total, seen) in _entities(get, meta, name, generation):
                profile = Profile(float(last))
                profile.total = float(total)
                profile.seen = {str(value): float(count) for value, count in seen.items()}
                table.profiles[str(entity)] = profile
            table.entities_seen, table.observed = int(entities_seen), int(observed)
        for name in ("auth_types", "logon_types"):
            total, counts = meta["populations"][name]
            population: Population = getattr(detectors, name)
            population.total = float(total)
            population.counts = {str(value): float(count) for value, count in counts.items()}
        for source, row in _entities(get, meta, "fan_out", generation):
            window, peak, account_peak, alerted, last, destinations, accounts = row
            state = SourceWindow(int(window), float(last))
            state.peak, state.account_peak = float(peak), float(account_peak)
            state.alerted = bool(alerted)
            state.destinations = {str(d) for d in destinations}
            state.accounts = {str(a) for a in accounts}
            detectors.fan_out.sources[str(source)] = state
        for source, (window, last, destinations) in _entities(
            get, meta, "source_spread", generation
        ):
            day = SpreadDay(int(window), float(last))
            day.new_destinations = {str(d) for d in destinations}
            detectors.source_spread.sources[str(source)] = day
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"broken host-authentication snapshot: {exc!r}") from None
    return detectors


def _checked(document: Any, generation: int | None) -> int:
    if not isinstance(document, dict) or document.get("v") != VERSION:
        found = document.get("v") if isinstance(document, dict) else None
        raise InvalidInput(f"host-authentication document version {found!r} is not {VERSION}")
    found_generation = document.get("g")
    if not isinstance(found_generation, int):
        raise InvalidInput("host-authentication document without a generation")
    if generation is not None and found_generation != generation:
        raise InvalidInput("host-authentication chunk from another snapshot")
    return found_generation


def _entities(
    get: Callable[[str], dict[str, Any] | None], meta: dict[str, Any], name: str, generation: int
) -> Iterator[tuple[str, Any]]:
    count = int(meta["chunks"][name])
    if not 0 <= count <= 1_000_000:
        raise InvalidInput("implausible number of host-authentication chunks")
    for n in range(count):
        document = get(f"{name}/{n}")
        if document is None:
            raise InvalidInput(f"host-authentication chunk {name}/{n} is missing")
        _checked(document, generation)
        yield from document["entities"].items()
