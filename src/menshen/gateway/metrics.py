"""The operations metrics in the Prometheus text exposition format (version 0.0.4, as
``prometheus_client.generate_latest`` writes it), read from the live counters at scrape time.

Nothing here counts: the guard, the audit writer, the ingest pipeline, the monitor engine
and the session table keep their own integers, and the composition root hands in plain
callables that read them (``MetricSources``). A scrape calls each once, on the event loop,
so the figures are those of one instant. No global registry: each listener has its own
``CollectorRegistry``. Metric names and labels are listed in docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

__all__ = [
    "CONTENT_TYPE",
    "AuditFigures",
    "MenshenCollector",
    "MetricSources",
    "MonitorFigures",
    "exposition",
    "registry_for",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HANDOFF = "gateway-handoff"  # the row of IngestService.metrics() that is not a source
# Per-source ingest counters: (counter key, metric name, help).
_INGEST = (
    ("received", "menshen_ingest_received", "Records offered by a source (admitted or not)."),
    ("accepted", "menshen_ingest_accepted", "Events mapped and queued for the monitor."),
    ("delivered", "menshen_ingest_delivered", "Events the monitor engine has taken."),
    ("throttled", "menshen_ingest_throttled", "Records refused by the rate limit or a full queue."),
    ("dropped", "menshen_ingest_dropped", "Gateway events with no room in the hand-off."),
    ("quarantine_dropped", "menshen_ingest_quarantine_dropped",
     "Rejected records counted but not kept in quarantine (sampling)."),
)  # fmt: skip

Counts = Mapping[str, int]
Pairs = Mapping[tuple[str, str], int]


@dataclass(frozen=True, slots=True)
class AuditFigures:
    """The audit writer: events not yet written, the backlog that refuses requests,
    rows written and failed write attempts since start."""

    pending: int
    limit: int
    written: int
    failures: int


@dataclass(frozen=True, slots=True)
class MonitorFigures:
    """The monitor engine since start: events it processed, findings it scored, detector
    faults, and findings not acted on because its response queue was full."""

    events: int
    findings: int
    detector_errors: int
    dropped: int


def _nothing() -> Pairs:
    return {}


@dataclass(frozen=True, slots=True)
class MetricSources:
    """What a scrape reads. ``decisions``: requests by outcome; ``sessions``: live sessions
    per tenant; ``ingest``: ``IngestService.metrics()`` (``tenant/source`` -> counters,
    ``rejected.<reason>`` among them, plus the ``gateway-handoff`` row); ``findings``:
    (tenant, detector) -> count; ``actions``: (action, state) -> count. The monitor parts
    are None when the monitor is off."""

    version: str
    decisions: Callable[[], Counts]
    audit: Callable[[], AuditFigures]
    sessions: Callable[[], Counts]
    ingest: Callable[[], Mapping[str, Counts]] | None = None
    monitor: Callable[[], MonitorFigures] | None = None
    findings: Callable[[], Pairs] = field(default=_nothing)
    actions: Callable[[], Pairs] = field(default=_nothing)


class MenshenCollector:
    """A ``prometheus_client`` custom collector over ``MetricSources``."""

    def __init__(self, sources: MetricSources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        sources = self._sources
        build = InfoMetricFamily("menshen_build", "The running menshen release.")
        build.add_metric([], {"version": sources.version})
        yield build
        yield _by_label(
            "menshen_requests", "Requests the gateway decided, by outcome.", "decision",
            sources.decisions(),
        )  # fmt: skip
        yield from _audit(sources.audit())
        yield _by_label(
            "menshen_sessions_live", "Sessions open in this process, per tenant.", "tenant",
            sources.sessions(), gauge=True,
        )  # fmt: skip
        if sources.ingest is not None:
            yield from _ingest(sources.ingest())
        if sources.monitor is not None:
            yield from _monitor(sources.monitor(), sources.findings(), sources.actions())


def registry_for(sources: MetricSources) -> CollectorRegistry:
    """A registry of its own holding only the menshen collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MenshenCollector(sources))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The text a scrape returns (``CONTENT_TYPE``)."""
    return generate_latest(registry)


def _by_label(
    name: str, help_text: str, label: str, counts: Counts, *, gauge: bool = False
) -> Metric:
    family: CounterMetricFamily | GaugeMetricFamily
    if gauge:
        family = GaugeMetricFamily(name, help_text, labels=[label])
    else:
        family = CounterMetricFamily(name, help_text, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family


def _audit(audit: AuditFigures) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "menshen_audit_backlog", "Audit events published and not yet written.", audit.pending
    )
    yield GaugeMetricFamily(
        "menshen_audit_backlog_limit",
        "The backlog past which the gateway refuses requests (503).",
        audit.limit,
    )
    yield CounterMetricFamily(
        "menshen_audit_rows_written", "Audit log rows written.", audit.written
    )
    yield CounterMetricFamily(
        "menshen_audit_write_failures", "Failed audit write attempts (retried).", audit.failures
    )


def _ingest(table: Mapping[str, Counts]) -> Iterator[Metric]:
    rows: list[tuple[str, str, Counts]] = []
    for key, counters in sorted(table.items()):
        tenant, sep, source = key.partition("/")
        if sep:
            rows.append((tenant, source, counters))
    for key, name, help_text in _INGEST:
        family = CounterMetricFamily(name, help_text, labels=["tenant", "source"])
        for tenant, source, counters in rows:
            family.add_metric([tenant, source], counters.get(key, 0))
        yield family
    rejected = CounterMetricFamily(
        "menshen_ingest_rejected",
        "Records refused as malformed or unauthorised, by reason.",
        labels=["tenant", "source", "reason"],
    )
    for tenant, source, counters in rows:
        for counter, count in sorted(counters.items()):
            if counter.startswith("rejected."):
                rejected.add_metric([tenant, source, counter[len("rejected.") :]], count)
    yield rejected
    handoff = table.get(HANDOFF, {})
    yield CounterMetricFamily(
        "menshen_gateway_handoff_dropped",
        "Gateway events the hand-off to the monitor had no room for (caught up from the log).",
        handoff.get("dropped", 0),
    )
    yield CounterMetricFamily(
        "menshen_gateway_handoff_recovered",
        "Dropped gateway events recovered from the audit log.",
        handoff.get("recovered", 0),
    )
    yield GaugeMetricFamily(
        "menshen_gateway_handoff_pending",
        "Gateway events waiting in the hand-off.",
        handoff.get("pending", 0),
    )


def _monitor(figures: MonitorFigures, findings: Pairs, actions: Pairs) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "menshen_monitor_events", "Events the monitor engine processed.", figures.events
    )
    yield CounterMetricFamily(
        "menshen_monitor_findings_scored",
        "New findings the risk engine scored (repeats excluded).",
        figures.findings,
    )
    yield CounterMetricFamily(
        "menshen_monitor_detector_errors", "Detector failures on an event.", figures.detector_errors
    )
    yield CounterMetricFamily(
        "menshen_monitor_response_dropped",
        "Findings not acted on because the response queue was full.",
        figures.dropped,
    )
    by_detector = CounterMetricFamily(
        "menshen_monitor_findings",
        "Findings recorded, by tenant and detector.",
        labels=["tenant", "detector"],
    )
    for (tenant, detector), count in sorted(findings.items()):
        by_detector.add_metric([tenant, detector], count)
    yield by_detector
    taken = CounterMetricFamily(
        "menshen_monitor_actions",
        "Response actions by kind and state (done, failed, observed).",
        labels=["action", "state"],
    )
    for (action, state), count in sorted(actions.items()):
        taken.add_metric([action, state], count)
    yield taken
