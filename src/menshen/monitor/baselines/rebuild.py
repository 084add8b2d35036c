"""Re-learn a tenant's baselines from its audit log (``menshen monitor rebuild``).

The audit log is the record of what happened (NIST SP 800-92 §2.3), so baselines can always
be rebuilt from it: after a codec change, a lost table, or new bounds. Events are replayed
in log order through the same ``EventContext`` derivation the live monitor uses (give it
the tenant's geo-IP ``geo``, as the engine has, or profiles learn no countries or ASNs),
learning only (no findings). ``progress`` is called with the number of audit rows read so far.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from menshen.monitor.baselines.book import BaselineBook
from menshen.monitor.baselines.calendar import LocalClock
from menshen.monitor.baselines.context import ContextBuilder, GeoLookup
from menshen.monitor.model import ObservedEvent
from menshen.store.records import AuditRecord

__all__ = ["RebuildReport", "relearn"]


@dataclass(frozen=True, slots=True)
class RebuildReport:
    rows: int
    learnt: int
    entities: int


def relearn(
    book: BaselineBook,
    records: Iterable[AuditRecord],
    mapper: Callable[[AuditRecord], ObservedEvent | None],
    *,
    geo: GeoLookup | None = None,
    agent_family: Callable[[str | None], str],
    peer_group: Callable[[str], str | None] | None = None,
    progress: Callable[[int], None] | None = None,
    every: int = 1000,
) -> RebuildReport:
    """Feed every mappable record to ``book``; how many rows were read and learnt."""
    derive = ContextBuilder(
        clock=LocalClock(book.config.time_zone),
        geo=geo,
        agent_family=agent_family,
        peer_group=peer_group,
        path_depth=book.config.path_depth,
    )
    rows = learnt = 0
    for record in records:
        rows += 1
        event = mapper(record)
        if event is not None:
            book.observe(derive(event))
            learnt += 1
        if progress is not None and rows % every == 0:
            progress(rows)
    if progress is not None:
        progress(rows)
    return RebuildReport(rows, learnt, len(book))
