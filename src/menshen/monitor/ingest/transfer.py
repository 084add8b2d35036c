"""One TRANSFER event per session per minute of activity: the bytes the gateway sent.

The data plane only adds to a per-session integer as response chunks go out
(``GatewayServer.bytes_out``); once a minute (and when the service stops) this reporter takes
the counters and publishes one ``session.transfer`` audit event per session that moved any
bytes, with the address the session signed in from (a session that ended meanwhile — logout,
revocation — is looked up in the store, so the last minute of a session is not lost). The
audit log keeps the record, and the monitor (volume baselines, the exfiltration detector,
the new-network check) sees it like any other gateway event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from menshen.clock import Clock
from menshen.events.model import AuditEvent, Outcome
from menshen.monitor.ingest.gateway_map import TRANSFER_KIND
from menshen.store.records import SessionRecord

__all__ = ["TransferReporter"]

INTERVAL_SECONDS = 60.0


class TransferReporter:
    def __init__(
        self,
        take: Callable[[], dict[str, int]],
        session_of: Callable[[str], SessionRecord | None],
        publish: Callable[[AuditEvent], None],
        clock: Clock,
        *,
        find_ended: Callable[[str], SessionRecord | None] | None = None,
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self._take = take
        self._session_of = session_of
        self._find_ended = find_ended
        self._publish = publish
        self._clock = clock
        self._interval = interval
        self._unresolved: dict[str, int] = {}
        self.unattributed = 0  # bytes of sessions that could not be found at all

    def report(self) -> int:
        """Publish one event per live session with bytes since the last report; how many.
        Bytes of sessions no longer in memory (ended meanwhile) wait for ``flush``."""
        published = 0
        for session_id, sent in self._take().items():
            session = self._session_of(session_id)
            if session is None:
                self._unresolved[session_id] = self._unresolved.get(session_id, 0) + sent
                continue
            self._emit(session, sent)
            published += 1
        return published

    async def flush(self) -> int:
        """``report``, then look ended sessions up in the store (worker thread)."""
        published = self.report()
        unresolved, self._unresolved = self._unresolved, {}
        if not unresolved:
            return published
        find = self._find_ended
        found: dict[str, SessionRecord | None] = {}
        if find is not None:
            found = await asyncio.to_thread(lambda: {sid: find(sid) for sid in unresolved})
        for session_id, sent in unresolved.items():
            session = found.get(session_id)
            if session is None:
                self.unattributed += sent
                continue
            self._emit(session, sent)
            published += 1
        return published

    def _emit(self, session: SessionRecord, sent: int) -> None:
        self._publish(
            AuditEvent(
                tenant_id=session.tenant_id,
                kind=TRANSFER_KIND,
                outcome=Outcome.SUCCESS,
                at=self._clock.now(),
                actor=session.user_id,
                ip=session.ip or None,  # where the session signed in (the new-network check)
                session_id=session.id,
                details={"bytes_out": sent, "period_seconds": int(self._interval)},
            )
        )

    async def run(self) -> None:
        """Report every ``interval`` seconds for ever (cancel to stop)."""
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()
