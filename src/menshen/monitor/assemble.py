"""Building the monitor's engine from the platform's parts (used by ``menshen.app``).

One place that knows which store, session service, identity services, clock and bus the
engine's components share, so the composition root adds a few lines only.
"""

from __future__ import annotations

from collections.abc import Callable

from menshen.clock import Clock
from menshen.events.model import AuditEvent
from menshen.identity.service import IdentityService
from menshen.monitor.engine import Detect, MonitorEngine, no_detectors
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.response.actions import ActionRunner
from menshen.monitor.response.live import LiveResponse
from menshen.monitor.response.notify import Notifications
from menshen.sessions.service import SessionService
from menshen.settings import MonitorOptions, Settings
from menshen.store.api import Store

__all__ = ["build_engine"]


def build_engine(
    *,
    settings: Settings,
    store: Store,
    sessions: SessionService,
    identity: Callable[[str], IdentityService],
    live: LiveResponse,
    clock: Clock,
    publish: Callable[[AuditEvent], None],
    detect: Detect = no_detectors,
) -> MonitorEngine:
    """The engine with its action runner, notifications and incident book."""

    def monitor_options(tenant_id: str) -> MonitorOptions:
        return settings.options(tenant_id).monitor

    actions = ActionRunner(
        store=store,
        sessions=sessions,
        identity=identity,
        live=live,
        publish=publish,
        clock=clock,
        observe_only=lambda tenant_id: monitor_options(tenant_id).observe_only,
    )
    return MonitorEngine(
        store=store,
        live=live,
        actions=actions,
        notifications=Notifications(publish=publish, clock=clock),
        incidents=IncidentBook(store, lambda tenant_id: monitor_options(tenant_id).incident_window),
        options=monitor_options,
        clock=clock,
        publish=publish,
        detect=detect,
    )
