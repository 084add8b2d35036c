"""The operations listener: ``GET /metrics`` (Prometheus text exposition format 0.0.4) and
``GET /healthz``, on an address of its own, never on the public gateway listeners.

It reuses the gateway's HTTP/1.1 data plane (``GatewayServer``) with a guard that knows
three answers: the metrics text, the health check, and 404 for every other path (405 for
another method on those two). ``/healthz`` answers 200 while the store answers a ping and
the audit backlog is within its limit, 503 otherwise (the same backlog at which the gateway
starts refusing requests), with a short JSON body saying which part failed. The store ping
runs in a worker thread, bounded by ``ping_timeout``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from menshen.clock import Clock
from menshen.gateway.contract import Handle, ListenerLimits, RequestHead, Respond, Verdict
from menshen.gateway.metrics import CONTENT_TYPE, MetricSources, exposition, registry_for
from menshen.gateway.server import GatewayServer

__all__ = ["HealthCheck", "OpsEndpoints", "OpsListener"]

_log = logging.getLogger(__name__)
_JSON = (("content-type", "application/json"), ("cache-control", "no-store"))
_READ = ("GET", "HEAD")
_SCRAPE_TRIES = 3  # a counter table that grew mid-scrape is read again, at most this often


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """``ping`` blocks (a store round trip) and raises when the store is unreachable;
    ``backlog`` and ``limit`` are the audit writer's unwritten events and the guard's cap."""

    ping: Callable[[], None]
    backlog: Callable[[], int]
    limit: int
    ping_timeout: float = 2.0


class OpsEndpoints:
    """The guard of the operations listener (``menshen.gateway.contract.Guard``)."""

    def __init__(self, registry: CollectorRegistry, health: HealthCheck) -> None:
        self._registry = registry
        self._health = health

    def check(self, head: RequestHead) -> Verdict:
        if head.path not in ("/metrics", "/healthz"):
            return _json(404, {"error": "not found"})
        if head.method not in _READ:
            answer = _json(405, {"error": "method not allowed"})
            return Respond(405, (*answer.headers, ("allow", "GET, HEAD")), answer.body)
        if head.path == "/metrics":
            return self.metrics()
        return Handle(self._healthz, max_body_bytes=0)

    def metrics(self) -> Respond:
        for _ in range(_SCRAPE_TRIES):
            try:
                body = exposition(self._registry)
            except RuntimeError:  # a dict grew while it was read (another thread): again
                continue
            except Exception:
                _log.exception("metrics scrape failed")
                break
            headers = (("content-type", CONTENT_TYPE), ("cache-control", "no-store"))
            return Respond(200, headers, body)
        return _json(500, {"error": "metrics unavailable"})

    async def health(self) -> tuple[int, dict[str, object]]:
        """The status and body of ``/healthz``."""
        check = self._health
        try:
            await asyncio.wait_for(asyncio.to_thread(check.ping), check.ping_timeout)
            store = "ok"
        except Exception as error:
            _log.warning("health check: the store did not answer: %s", type(error).__name__)
            store = "unreachable"
        backlog = check.backlog()
        audit = "ok" if backlog <= check.limit else "backlog over limit"
        healthy = store == "ok" and audit == "ok"
        body: dict[str, object] = {
            "status": "ok" if healthy else "unavailable",
            "store": store,
            "audit": audit,
            "audit_backlog": backlog,
            "audit_backlog_limit": check.limit,
        }
        return (200 if healthy else 503), body

    async def _healthz(self, head: RequestHead, body: bytes) -> Respond:
        status, answer = await self.health()
        return _json(status, answer)


class OpsListener:
    """Binds the operations endpoints to their own address."""

    def __init__(self, sources: MetricSources, health: HealthCheck, clock: Clock) -> None:
        self.endpoints = OpsEndpoints(registry_for(sources), health)
        limits = ListenerLimits(max_body_bytes=1024, header_timeout_seconds=5.0)
        self._server = GatewayServer(self.endpoints, limits, clock, shutdown_grace_seconds=1.0)

    @property
    def port(self) -> int:
        return self._server.port

    async def start(self, host: str, port: int, *, loopback: bool) -> None:
        if not loopback:
            _log.warning(
                "the metrics listener %s:%d is not a loopback address: anyone who reaches it "
                "can read the gateway's request counts and which detectors fire; "
                "restrict it with a firewall",
                host,
                port,
            )
        await self._server.start(host, port)
        _log.info("metrics and health checks on %s:%d", host, self._server.port)

    async def stop(self) -> None:
        await self._server.stop()


def _json(status: int, payload: dict[str, object]) -> Respond:
    return Respond(status, _JSON, json.dumps(payload, separators=(",", ":")).encode())
