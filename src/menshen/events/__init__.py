"""Events: what happened, published in-process and kept in a hash-chained audit log.

``model`` (the event value), ``chain`` (pure hashing and verification), ``bus`` (in-process
publish/subscribe), ``writer`` (the batching task that appends to the store) and ``export``
(JSON lines and verification).
"""

from menshen.events.bus import EventBus
from menshen.events.chain import ChainReport, seal_batch, verify_chain
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.events.writer import AuditWriter

__all__ = [
    "AuditEvent",
    "AuditWriter",
    "ChainReport",
    "EventBus",
    "Kind",
    "Outcome",
    "seal_batch",
    "verify_chain",
]
