"""``POST /.menshen/ingest/v1/events``: JSON lines from a named external source.

The caller authenticates with ``Authorization: Bearer <token>`` (RFC 6750 §2.1); the token is
looked up by its SHA-256 among the tenant's sources (``menshen monitor source add``), and the
source's format names the mapper. The body is JSON lines (one record per LF, ``application/
x-ndjson``) of at most ``MAX_BODY`` bytes (larger bodies get 413 from the data plane before
they are read) and lines of at most ``limits.max_line`` bytes. Answers:

* 202 ``{"accepted": n, "rejected": m}`` — the batch was taken; refused lines are quarantined;
* 401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3) — no or unknown token (audited);
* 429 with ``Retry-After`` (RFC 6585 §4) — the source is over its rate or its queue is full;
  nothing of the batch was taken, so the sender re-sends it whole and loses nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import secrets
from collections.abc import Callable
from typing import Protocol

from menshen.clock import Clock
from menshen.events.model import AuditEvent, Outcome
from menshen.gateway.contract import Handle, RequestHead, Respond, Verdict
from menshen.monitor.ingest.framing import LineSplitter
from menshen.monitor.ingest.mappers.registry import MAPPERS
from menshen.monitor.ingest.pipeline import Pipeline, RawRecord
from menshen.store.monitor_ingest import MonitorSourceRecord

__all__ = ["INGEST_PATH", "IngestEndpoint", "hash_token"]

INGEST_PATH = "/.menshen/ingest/v1/events"
MAX_BODY = 1024 * 1024
REFUSED_KIND = "monitor.ingest_refused"
_CACHE_SECONDS = 30.0


def hash_token(token: str) -> str:
    """What the store keeps of a source token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class SourceLookup(Protocol):
    def __call__(self, tenant_id: str, token_hash: str) -> MonitorSourceRecord | None: ...


def _json(status: int, body: dict[str, object], *extra: tuple[str, str]) -> Respond:
    headers = (("content-type", "application/json"), ("cache-control", "no-store"), *extra)
    return Respond(status, headers, json.dumps(body, separators=(",", ":")).encode())


class IngestEndpoint:
    def __init__(
        self,
        *,
        pipeline: Pipeline,
        lookup: SourceLookup,
        publish: Callable[[AuditEvent], None],
        clock: Clock,
    ) -> None:
        self._pipeline = pipeline
        self._lookup = lookup
        self._publish = publish
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, MonitorSourceRecord | None]] = {}

    def post(self, head: RequestHead, tenant_id: str) -> Verdict:
        """The route: read the body (bounded) and handle it."""
        return Handle(lambda h, body: self.handle(h, tenant_id, body), max_body_bytes=MAX_BODY)

    async def _source(self, tenant_id: str, token: str) -> MonitorSourceRecord | None:
        key = (tenant_id, hash_token(token))
        now = self._clock.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await asyncio.to_thread(self._lookup, tenant_id, key[1])
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + _CACHE_SECONDS, found)
        return found

    async def handle(self, head: RequestHead, tenant_id: str, body: bytes) -> Respond:
        scheme, _, token = (head.header("authorization") or "").partition(" ")
        source = None
        if scheme.lower() == "bearer" and 16 <= len(token.strip()) <= 256:
            source = await self._source(tenant_id, token.strip())
        if source is None or source.format not in MAPPERS:
            self._refused(head, tenant_id, "no bearer token" if not token else "unknown token")
            return _json(
                401,
                {"title": "Unauthorized", "detail": "A valid source token is required."},
                ("www-authenticate", 'Bearer realm="menshen-ingest"'),
            )
        key = (tenant_id, source.name)
        splitter = LineSplitter(self._pipeline.limits.max_line)
        frames = splitter.feed(body) + splitter.finish()
        prefix = f"{source.name}:{secrets.token_hex(6)}:"
        records: list[RawRecord] = []
        too_long = 0
        for index, frame in enumerate(frames):
            if frame.error is not None:
                too_long += 1
                continue
            records.append(RawRecord(frame.data.decode("utf-8", "replace"), f"{prefix}{index}"))
        admission = self._pipeline.submit(key, records, MAPPERS[source.format])
        if admission.retry_after is not None:
            seconds = max(1, math.ceil(admission.retry_after))
            return _json(
                429,
                {"title": "Too Many Requests", "detail": "Slow down and send the batch again."},
                ("retry-after", str(seconds)),
            )
        for frame in frames:
            if frame.error is not None:
                self._pipeline.reject(key, frame.error, "line over the length cap", frame.data)
        return _json(
            202, {"accepted": admission.accepted, "rejected": admission.rejected + too_long}
        )

    def _refused(self, head: RequestHead, tenant_id: str, reason: str) -> None:
        self._publish(
            AuditEvent(
                tenant_id=tenant_id,
                kind=REFUSED_KIND,
                outcome=Outcome.DENY,
                at=self._clock.now(),
                ip=head.client_ip,
                reason=reason,
                details={"path": head.path},
            )
        )
