"""The operations metrics text and the ops endpoints, without sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from menshen.gateway.contract import Handle, RequestHead, Respond
from menshen.gateway.metrics import (
    CONTENT_TYPE,
    AuditFigures,
    MetricSources,
    MonitorFigures,
    exposition,
    registry_for,
)
from menshen.gateway.ops import HealthCheck, OpsEndpoints

INGEST = {
    "acme/vpn": {
        "received": 7, "accepted": 5, "delivered": 4, "throttled": 1, "dropped": 0,
        "quarantine_dropped": 0, "rejected.bad_json": 2, "rejected.clock_skew": 1,
    },
    "acme/gateway": {"received": 30, "accepted": 30, "delivered": 30, "dropped": 3},
    "gateway-handoff": {"dropped": 3, "recovered": 2, "pending": 4},
}  # fmt: skip


def _sources(*, monitor: bool = True) -> MetricSources:
    return MetricSources(
        version="9.8.7",
        decisions=lambda: {"allow": 10, "deny": 3, "step_up": 1, "unauthenticated": 2},
        audit=lambda: AuditFigures(pending=12, limit=200_000, written=480, failures=1),
        sessions=lambda: {"acme": 5, "beta": 2},
        ingest=(lambda: INGEST) if monitor else None,
        monitor=(lambda: MonitorFigures(120, 6, 0, 1)) if monitor else None,
        findings=lambda: {("acme", "impossible_travel"): 4, ("acme", "password_spray"): 2},
        actions=lambda: {("revoke_sessions", "done"): 2, ("block_ip", "observed"): 1},
    )


def _families(sources: MetricSources) -> dict[str, Metric]:
    text = exposition(registry_for(sources)).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def _values(family: Metric) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def _one(family: Metric, **labels: str) -> float:
    return _values(family)[tuple(sorted(labels.items()))]


def test_decisions_audit_and_sessions_are_exposed_with_help_and_type() -> None:
    """Requests by decision are a counter; the backlog and live sessions are gauges."""
    families = _families(_sources())
    requests = families["menshen_requests"]
    assert requests.type == "counter"
    assert requests.documentation.startswith("Requests the gateway decided")
    assert _one(requests, decision="allow") == 10
    assert _one(requests, decision="unauthenticated") == 2
    assert families["menshen_audit_backlog"].type == "gauge"
    assert _one(families["menshen_audit_backlog"]) == 12
    assert _one(families["menshen_audit_backlog_limit"]) == 200_000
    assert _one(families["menshen_audit_rows_written"]) == 480
    assert _one(families["menshen_audit_write_failures"]) == 1
    sessions = families["menshen_sessions_live"]
    assert sessions.type == "gauge"
    assert _values(sessions) == {(("tenant", "acme"),): 5, (("tenant", "beta"),): 2}


def test_ingest_counters_carry_tenant_source_and_reason() -> None:
    """Per-source counters split ``tenant/source``; each rejection reason is its own series."""
    families = _families(_sources())
    assert _one(families["menshen_ingest_received"], tenant="acme", source="vpn") == 7
    assert _one(families["menshen_ingest_throttled"], tenant="acme", source="vpn") == 1
    assert _one(families["menshen_ingest_delivered"], tenant="acme", source="gateway") == 30
    rejected = _values(families["menshen_ingest_rejected"])
    assert rejected == {
        (("reason", "bad_json"), ("source", "vpn"), ("tenant", "acme")): 2,
        (("reason", "clock_skew"), ("source", "vpn"), ("tenant", "acme")): 1,
    }
    assert _one(families["menshen_gateway_handoff_dropped"]) == 3
    assert _one(families["menshen_gateway_handoff_recovered"]) == 2
    assert families["menshen_gateway_handoff_pending"].type == "gauge"
    assert _one(families["menshen_gateway_handoff_pending"]) == 4


def test_monitor_figures_findings_and_actions() -> None:
    """Events processed, findings by detector and actions by kind and state."""
    families = _families(_sources())
    assert _one(families["menshen_monitor_events"]) == 120
    assert _one(families["menshen_monitor_response_dropped"]) == 1
    findings = families["menshen_monitor_findings"]
    assert _one(findings, tenant="acme", detector="impossible_travel") == 4
    actions = families["menshen_monitor_actions"]
    assert _one(actions, action="revoke_sessions", state="done") == 2
    assert _one(actions, action="block_ip", state="observed") == 1


def test_build_info_names_the_version() -> None:
    """``menshen_build_info`` is a gauge of 1 with the release as a label."""
    info = _families(_sources())["menshen_build_info"]
    assert info.type == "gauge"
    assert _values(info) == {(("version", "9.8.7"),): 1}


def test_without_the_monitor_its_families_are_absent() -> None:
    """Ingest and monitor families appear only when those parts run."""
    names = set(_families(_sources(monitor=False)))
    assert "menshen_requests" in names
    assert not {n for n in names if n.startswith(("menshen_ingest", "menshen_monitor"))}


def test_a_scrape_reads_the_counters_of_that_moment() -> None:
    """No copy is kept: the next scrape sees what changed since the last."""
    allowed = {"allow": 1}
    sources = MetricSources(
        version="1",
        decisions=lambda: allowed,
        audit=lambda: AuditFigures(0, 1, 0, 0),
        sessions=lambda: {},
    )
    registry = registry_for(sources)
    before = exposition(registry)
    allowed["allow"] = 2
    assert b'menshen_requests_total{decision="allow"} 1.0' in before
    assert b'menshen_requests_total{decision="allow"} 2.0' in exposition(registry)


def test_each_listener_has_a_registry_of_its_own() -> None:
    """Two registries never share collectors (no global registry)."""
    first, second = registry_for(_sources()), registry_for(_sources(monitor=False))
    assert isinstance(first, CollectorRegistry)
    assert b"menshen_monitor_events" in exposition(first)
    assert b"menshen_monitor_events" not in exposition(second)


# -- the endpoints ---------------------------------------------------------------------


def _head(path: str, method: str = "GET") -> RequestHead:
    return RequestHead(method, path, "", "127.0.0.1", 9810, "http", (), "127.0.0.1", "127.0.0.1")


def _endpoints(
    *, backlog: int = 0, ping_fails: bool = False, decisions: Mapping[str, int] | None = None
) -> OpsEndpoints:
    def ping() -> None:
        if ping_fails:
            raise ConnectionError("database down")

    sources = _sources()
    if decisions is not None:
        sources = MetricSources(
            version="1",
            decisions=lambda: decisions,
            audit=sources.audit,
            sessions=sources.sessions,
        )
    return OpsEndpoints(registry_for(sources), HealthCheck(ping, lambda: backlog, limit=100))


def test_metrics_answers_the_text_format() -> None:
    """GET /metrics: 200, the 0.0.4 text content type, parseable families."""
    answer = _endpoints().check(_head("/metrics"))
    assert isinstance(answer, Respond)
    assert answer.status == 200
    assert dict(answer.headers)["content-type"] == CONTENT_TYPE
    assert any(f.name == "menshen_requests" for f in text_string_to_metric_families(
        answer.body.decode()
    ))  # fmt: skip


@pytest.mark.parametrize("path", ["/", "/metrics/", "/.menshen/login", "/healthz/x", "/debug"])
def test_every_other_path_is_404(path: str) -> None:
    """Only the two paths exist."""
    answer = _endpoints().check(_head(path))
    assert isinstance(answer, Respond)
    assert answer.status == 404


def test_other_methods_are_405() -> None:
    """POST to /metrics or /healthz names the methods allowed."""
    for path in ("/metrics", "/healthz"):
        answer = _endpoints().check(_head(path, "POST"))
        assert isinstance(answer, Respond)
        assert (answer.status, dict(answer.headers)["allow"]) == (405, "GET, HEAD")


def test_a_failing_collector_answers_500_not_a_partial_text() -> None:
    """A source that raises gives a 500 JSON answer."""

    def broken() -> Mapping[str, int]:
        raise KeyError("gone")

    endpoints = OpsEndpoints(
        registry_for(
            MetricSources(
                version="1",
                decisions=broken,
                audit=lambda: AuditFigures(0, 1, 0, 0),
                sessions=lambda: {},
            )
        ),
        HealthCheck(lambda: None, lambda: 0, limit=1),
    )
    answer = endpoints.check(_head("/metrics"))
    assert isinstance(answer, Respond)
    assert answer.status == 500


def _healthz(endpoints: OpsEndpoints) -> tuple[int, dict[str, object]]:
    verdict = endpoints.check(_head("/healthz"))
    assert isinstance(verdict, Handle)

    async def call() -> Respond:
        return await verdict.handler(_head("/healthz"), b"")

    answer = asyncio.run(call())
    return answer.status, json.loads(answer.body)


def test_healthz_is_200_when_store_answers_and_backlog_is_within_limit() -> None:
    """A healthy process says so."""
    status, body = _healthz(_endpoints(backlog=100))
    assert status == 200
    assert body == {
        "status": "ok", "store": "ok", "audit": "ok",
        "audit_backlog": 100, "audit_backlog_limit": 100,
    }  # fmt: skip


def test_healthz_is_503_past_the_backlog_limit() -> None:
    """One event past the limit the guard refuses at, and the health check fails too."""
    status, body = _healthz(_endpoints(backlog=101))
    assert status == 503
    assert (body["status"], body["audit"]) == ("unavailable", "backlog over limit")


def test_healthz_is_503_when_the_store_does_not_answer() -> None:
    """A store that raises on ping is reported as unreachable."""
    status, body = _healthz(_endpoints(ping_fails=True))
    assert status == 503
    assert body["store"] == "unreachable"
