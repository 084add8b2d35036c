"""The console's incident pages: the list with the monthly figures, one incident, its forms.

``/incidents?state=&days=`` lists the tenant's incidents, newest first, with time to detect
and time to respond, and the per-month summary (NIST SP 800-61r2 §3.4.2);
``/incidents/{id}`` shows the timeline, the findings with their evidence, the response
actions taken, the assignee and the notes (§3.2.5), with forms to acknowledge, assign, add a
note and close. Every form is checked by ``forms.posted`` before anything is read, changed
through ``incidents.changes`` (the CLI's own changes) and audited as
``monitor.incident.changed`` with the admin as actor; then the browser is sent back to the
incident (303, post/redirect/get).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from menshen.clock import Clock
from menshen.console.access import Admitted
from menshen.console.desk import MonitorDesk
from menshen.console.forms import FormGuard, posted
from menshen.console.monitor_rows import action_row, incident_detail, incident_row, summary_row
from menshen.console.pages import Page, Pages
from menshen.errors import InvalidInput, MenshenError, NotFound
from menshen.monitor.incidents import changes
from menshen.monitor.incidents.model import Incident, IncidentState
from menshen.monitor.incidents.summary import MonthSummary, first_month, summarise

__all__ = ["IncidentPages", "actor_of"]

_log = logging.getLogger("menshen.console")

DAYS_CHOICES = (7, 30, 90, 365)
SUMMARY_MONTHS = 12
MAX_ASSIGNEE = 200
VERBS: dict[str, Callable[[dict[str, str]], changes.IncidentChange]] = {
    "acknowledge": lambda fields: changes.acknowledged(),
    "assign": lambda fields: changes.assigned(_assignee(fields.get("assignee", ""))),
    "note": lambda fields: changes.noted(fields.get("text", "")),
    "close": lambda fields: changes.closed(),
}


def actor_of(user: Admitted) -> str:
    """Who made a change from the console, as the audit log and the notes name them."""
    return f"console:{user.username}"


def _assignee(name: str) -> str:
    if len(name) > MAX_ASSIGNEE:
        raise InvalidInput(f"an assignee's name has at most {MAX_ASSIGNEE} characters")
    return name


class IncidentPages:
    def __init__(self, pages: Pages, desk: MonitorDesk, forms: FormGuard, clock: Clock) -> None:
        self._pages = pages
        self._desk = desk
        self._forms = forms
        self._clock = clock
        self._base = f"{pages.prefix}/incidents"

    async def listing(self, request: Request, user: Admitted) -> Response:
        state_name = request.query_params.get("state", "")
        days_text = request.query_params.get("days", "30")
        try:
            state = IncidentState(state_name) if state_name else None
            days = int(days_text)
            if not 1 <= days <= 3660:
                raise ValueError(days)
        except ValueError:
            return self._pages.problem(
                400, "Unknown filter.", user=user, back=self._base, label="All incidents"
            )
        now = self._clock.now()
        found, months = await run_in_threadpool(self._read_list, now, days, state)
        return self._pages.render(
            Page("incidents.html"),
            user=user,
            incidents=[incident_row(item) for item in found],
            summary=[summary_row(row) for row in months],
            state=state_name,
            states=[item.value for item in IncidentState],
            days=days,
            day_choices=sorted({*DAYS_CHOICES, days}),
            at=f"{now:%Y-%m-%d %H:%M %Z}",
        )

    def _read_list(
        self, now: datetime, days: int, state: IncidentState | None
    ) -> tuple[list[Incident], list[MonthSummary]]:
        found = self._desk.list_incidents(now, days=days, state=state)
        start = first_month(now, SUMMARY_MONTHS)
        months = summarise(self._desk.incidents.list(self._desk.tenant_id, since=start))
        return found, list(reversed(months))

    async def show(self, request: Request, user: Admitted) -> Response:
        incident_id = request.path_params["incident_id"]
        try:
            item = await run_in_threadpool(
                self._desk.incidents.get, self._desk.tenant_id, incident_id
            )
        except NotFound:
            return self._missing(user, incident_id)
        actions = await run_in_threadpool(self._desk.actions_of, item.id)
        path = f"{self._base}/{item.id}"
        return self._pages.render(
            Page("incident.html"),
            user=user,
            incident=incident_detail(item),
            actions=[action_row(record) for record in actions],
            path=path,
            tokens={verb: self._forms.token(user, f"{path}/{verb}") for verb in VERBS},
        )

    async def change(self, request: Request, user: Admitted) -> Response:
        incident_id = request.path_params["incident_id"]
        verb = request.path_params["verb"]
        fields = await posted(request, user, self._forms)
        if isinstance(fields, str):
            _log.warning(
                "console refused POST %s from %s: %s", request.url.path, user.subject, fields
            )
            return self._pages.problem(
                403,
                "This form did not come from the console or has expired: reload the "
                "incident and try again. Nothing was changed.",
                user=user,
                back=f"{self._base}/{incident_id}",
                label="Back to the incident",
            )
        make = VERBS.get(verb)
        if make is None:
            return self._pages.problem(
                404, "There is no such change.", user=user, back=self._base, label="All incidents"
            )
        try:
            changed, event = await run_in_threadpool(
                changes.apply_change,
                self._desk.incidents,
                self._desk.tenant_id,
                incident_id,
                make(fields),
                by=actor_of(user),
                at=self._clock.now(),
            )
        except NotFound:
            return self._missing(user, incident_id)
        except InvalidInput as exc:
            return self._pages.problem(
                400,
                f"Nothing was changed: {exc}",
                user=user,
                back=f"{self._base}/{incident_id}",
                label="Back to the incident",
            )
        try:
            await run_in_threadpool(self._desk.audit, [event])
        except MenshenError as exc:
            _log.error(
                "incident %s changed (%s) but not audited: %s", changed.id, event.reason, exc
            )
            return self._pages.problem(
                500, "The change was made but could not be audited.", user=user
            )
        _log.info("incident %s %s by %s", changed.id, event.reason, event.actor)
        return RedirectResponse(f"{self._base}/{changed.id}", status_code=303)

    def _missing(self, user: Admitted, incident_id: str) -> Response:
        return self._pages.problem(
            404,
            f"There is no incident {incident_id[:80]!r}.",
            user=user,
            back=self._base,
            label="All incidents",
        )
