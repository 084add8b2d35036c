"""POST /.menshen/ingest/v1/events: bearer token per source, 202/401/429, quarantine."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from menshen.events.model import AuditEvent
from menshen.gateway.contract import Handle, RequestHead, Respond
from menshen.monitor.ingest.http_endpoint import INGEST_PATH, IngestEndpoint, hash_token
from menshen.monitor.ingest.limits import IngestLimits
from menshen.monitor.ingest.pipeline import Pipeline
from menshen.monitor.ingest.sink import CollectingSink
from menshen.store.monitor_ingest import MonitorSourceRecord
from menshen.testing import FixedClock

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TOKEN = "msrc_" + "a" * 40
SOURCE = MonitorSourceRecord("t1", "vpn", "menshen", hash_token(TOKEN), NOW)


def _head(token: str | None) -> RequestHead:
    headers = (("authorization", f"Bearer {token}"),) if token else ()
    return RequestHead(
        "POST", INGEST_PATH, "", "gw.example", 443, "https", headers, "192.0.2.1", "192.0.2.1"
    )


def _lines(*users: str) -> bytes:
    return b"\n".join(
        json.dumps(
            {
                "time": "2026-11-25T11:00:00Z",
                "category": "authentication",
                "action": "login",
                "user": user,
            }
        ).encode()
        for user in users
    )


class World:
    def __init__(self, **limits: float) -> None:
        self.clock = FixedClock(NOW)
        self.sink = CollectingSink()
        self.pipeline = Pipeline(self.sink, self.clock, IngestLimits(**limits))  # type: ignore[arg-type]
        self.audit: list[AuditEvent] = []
        self.lookups = 0
        self.endpoint = IngestEndpoint(
            pipeline=self.pipeline, lookup=self._lookup, publish=self.audit.append, clock=self.clock
        )

    def _lookup(self, tenant_id: str, token_hash: str) -> MonitorSourceRecord | None:
        self.lookups += 1
        return SOURCE if (tenant_id, token_hash) == ("t1", SOURCE.token_hash) else None

    def post(self, token: str | None, body: bytes, tenant: str = "t1") -> Respond:
        return asyncio.run(self.endpoint.handle(_head(token), tenant, body))


def test_route_reads_a_bounded_body() -> None:
    """The route answers with a Handle limited to 1 MiB (413 beyond, from the data plane)."""
    verdict = World().endpoint.post(_head(TOKEN), "t1")
    assert isinstance(verdict, Handle)
    assert verdict.max_body_bytes == 1024 * 1024


def test_a_valid_token_gets_its_lines_accepted() -> None:
    """202 with the counts; events carry the source's name."""
    world = World()
    answer = world.post(TOKEN, _lines("alice", "bob") + b"\n{broken\n")
    assert answer.status == 202
    assert json.loads(answer.body) == {"accepted": 2, "rejected": 1}
    world.pipeline.drain_once()
    assert [(e.user, e.source) for e in world.sink.events] == [("alice", "vpn"), ("bob", "vpn")]
    assert world.pipeline.take_quarantine()[0].reason == "bad_json"


def test_missing_or_unknown_tokens_are_refused_and_audited() -> None:
    """401 with WWW-Authenticate: Bearer; each refusal is an audit event with the reason."""
    world = World()
    for token in (None, "msrc_" + "b" * 40):
        answer = world.post(token, _lines("alice"))
        assert answer.status == 401
        assert ("www-authenticate", 'Bearer realm="menshen-ingest"') in answer.headers
    assert [e.reason for e in world.audit] == ["no bearer token", "unknown token"]
    assert world.audit[0].kind == "monitor.ingest_refused"


def test_a_token_of_another_tenant_does_not_work() -> None:
    """The lookup is scoped to the host's tenant."""
    assert World().post(TOKEN, _lines("alice"), tenant="t2").status == 401


def test_token_lookups_are_cached() -> None:
    """Repeated posts do not read the store each time."""
    world = World()
    for _ in range(5):
        world.post(TOKEN, _lines("alice"))
    assert world.lookups == 1


def test_over_the_rate_the_answer_is_429_with_retry_after() -> None:
    """Nothing of a refused batch is taken; Retry-After says when to send it again."""
    world = World(rate=1.0, burst=2)
    assert world.post(TOKEN, _lines("a", "b")).status == 202
    answer = world.post(TOKEN, _lines("c"))
    assert answer.status == 429
    assert ("retry-after", "1") in answer.headers
    assert world.pipeline.metrics[("t1", "vpn")].accepted == 2


def test_a_line_over_the_cap_is_quarantined_not_read() -> None:
    """A line longer than max_line is refused with line_too_long; its neighbours go through."""
    world = World(max_line=1024)
    body = _lines("alice") + b"\n" + b"x" * 5000 + b"\n" + _lines("bob")
    assert json.loads(world.post(TOKEN, body).body) == {"accepted": 2, "rejected": 1}
    assert world.pipeline.metrics[("t1", "vpn")].rejected["line_too_long"] == 1
