"""The append-only audit log of one tenant (NIST SP 800-92 §4.3; hash chain in ``events``).

Rows are only ever inserted: there is no update or delete here. ``seq`` numbers the chain;
the primary key (tenant_id, seq) makes a second writer of the same seq fail, and a batch
must carry on exactly from the last row, so a stale writer cannot fork or gap the chain.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, insert, select

from menshen.errors import Conflict, InvalidInput
from menshen.store.records import AuditRecord
from menshen.store.schema import audit_events
from menshen.store.scoped import Scope, record_of


class SqlAuditRepository:
    """``AuditRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def last(self) -> AuditRecord | None:
        """The row with the highest seq, or None for an empty log."""
        query = (
            select(audit_events)
            .where(self._scope.where(audit_events))
            .order_by(audit_events.c.seq.desc())
            .limit(1)
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(AuditRecord, row)

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Append rows whose seq continue the chain; Conflict if a seq is taken.

        The batch must be consecutive (InvalidInput otherwise) and start right after the
        current last seq (Conflict otherwise); it is inserted whole, in one statement.
        """
        if not records:
            return
        rows = [self._scope.row(record) for record in records]
        first = records[0].seq
        if any(record.seq != first + i for i, record in enumerate(records)):
            raise InvalidInput("audit rows of one append must have consecutive seq numbers")
        with self._scope.db.write() as conn:
            top = conn.execute(
                select(func.max(audit_events.c.seq)).where(self._scope.where(audit_events))
            ).scalar_one_or_none()
            if top is not None and first != top + 1:
                raise Conflict(f"audit seq {first} does not follow the last seq {top}")
            conn.execute(insert(audit_events), rows)

    def iterate(self, *, after_seq: int = 0, batch: int = 1000) -> Iterator[AuditRecord]:
        """Every row with seq > ``after_seq`` in seq order, fetched ``batch`` rows at a time.

        No connection is held between batches, so a slow reader never blocks writers.
        """
        if batch < 1:
            raise InvalidInput("batch must be at least 1")
        cursor = after_seq
        while True:
            query = (
                select(audit_events)
                .where(self._scope.where(audit_events), audit_events.c.seq > cursor)
                .order_by(audit_events.c.seq)
                .limit(batch)
            )
            with self._scope.db.read() as conn:
                page = [record_of(AuditRecord, row) for row in conn.execute(query)]
            yield from page
            if len(page) < batch:
                return
            cursor = page[-1].seq
