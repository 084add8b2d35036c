"""The in-process event bus: publish from the hot path, consume in batches.

``publish`` appends to a deque and returns: it never awaits, never touches disk, and is safe
to call from any thread (``deque.append`` and ``popleft`` are atomic). The audit writer drains
the queue in batches off the request path. In-process subscribers (the monitor) are called
synchronously inside ``publish`` and must therefore be cheap (typically: append to their own
queue); an exception in one is reported to ``on_error`` and never reaches the publisher.
NIST SP 800-207 §3.4 (the PEP reports to the monitoring components).
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable

from menshen.events.model import AuditEvent

Subscriber = Callable[[AuditEvent], None]
ErrorHandler = Callable[[Subscriber, BaseException], None]

_log = logging.getLogger(__name__)


def _log_subscriber_error(subscriber: Subscriber, error: BaseException) -> None:
    _log.error("event subscriber %r failed", subscriber, exc_info=error)


class EventBus:
    """A queue of events for the audit writer, plus synchronous in-process subscribers.

    The queue is unbounded on purpose: an audit event is never dropped. ``pending`` and
    ``high_water`` let a health check notice a writer that cannot keep up.
    """

    __slots__ = (
        "_on_error",
        "_queue",
        "_subscribers",
        "high_water",
        "published",
        "subscriber_errors",
    )

    def __init__(self, *, on_error: ErrorHandler = _log_subscriber_error) -> None:
        self._queue: deque[AuditEvent] = deque()
        self._subscribers: tuple[Subscriber, ...] = ()
        self._on_error = on_error
        self.published = 0
        self.high_water = 0
        self.subscriber_errors = 0

    def publish(self, event: AuditEvent) -> None:
        """Queue ``event`` for the audit log and hand it to every subscriber."""
        queue = self._queue
        queue.append(event)
        self.published += 1
        if len(queue) > self.high_water:
            self.high_water = len(queue)
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception as error:
                self.subscriber_errors += 1
                # The publisher must never see a consumer's fault, not even the reporter's.
                with contextlib.suppress(Exception):
                    self._on_error(subscriber, error)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` for every later event; returns a function that unsubscribes."""
        self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            self._subscribers = tuple(s for s in self._subscribers if s is not callback)

        return unsubscribe

    def take(self, limit: int) -> list[AuditEvent]:
        """Remove and return up to ``limit`` of the oldest queued events."""
        queue = self._queue
        taken: list[AuditEvent] = []
        while queue and len(taken) < limit:
            try:
                taken.append(queue.popleft())
            except IndexError:  # emptied by another consumer between the check and the pop
                break
        return taken

    @property
    def pending(self) -> int:
        """Events queued and not yet taken."""
        return len(self._queue)

    def __len__(self) -> int:
        return len(self._queue)
