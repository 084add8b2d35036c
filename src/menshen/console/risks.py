"""The console's risk and response pages (NIST SP 800-207 §3.3.1; NIST SP 800-61r2 §3.3.4).

``/risks`` lists every subject with a stored risk score: the score decayed to now (the
engine's half-life, as it reads scores back after a restart), its level, how long until it
falls under the low threshold, and the findings still contributing, each with its share
when made and what is left of it. ``/responses`` lists the newest response actions with
their state; a done action has an *Undo* form, which ``ActionRunner.undo`` carries out (the
CLI's ``menshen monitor undo``): the block is lifted, the step-up demand dropped, the user
enabled, the device's trust given back. Undo is audited (``monitor.action_undone``, the
admin as actor) even when it fails half-way.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from menshen.clock import Clock
from menshen.console.access import Admitted
from menshen.console.desk import MonitorDesk
from menshen.console.forms import FormGuard, posted
from menshen.console.incidents import actor_of
from menshen.console.monitor_rows import action_row, risk_row, span
from menshen.console.pages import Page, Pages
from menshen.errors import InvalidInput, MenshenError, NotFound
from menshen.events.model import AuditEvent

__all__ = ["RiskPages"]

_log = logging.getLogger("menshen.console")


class RiskPages:
    def __init__(self, pages: Pages, desk: MonitorDesk, forms: FormGuard, clock: Clock) -> None:
        self._pages = pages
        self._desk = desk
        self._forms = forms
        self._clock = clock
        self._base = f"{pages.prefix}/responses"

    async def risks(self, request: Request, user: Admitted) -> Response:
        now = self._clock.now()
        views = await run_in_threadpool(self._desk.risks, now)
        rules = self._desk.risk_rules
        return self._pages.render(
            Page("risks.html"),
            user=user,
            risks=[risk_row(view) for view in views],
            half_life=span(rules.half_life),
            thresholds={"low": rules.low, "medium": rules.medium, "high": rules.high},
            at=f"{now:%Y-%m-%d %H:%M %Z}",
        )

    async def responses(self, request: Request, user: Admitted) -> Response:
        records = await run_in_threadpool(self._desk.actions)
        rows = [action_row(record) for record in records]
        for row in rows:
            row["undo"] = f"{self._base}/{row['id']}/undo"
            row["token"] = self._forms.token(user, row["undo"]) if row["undoable"] else ""
        return self._pages.render(Page("responses.html"), user=user, actions=rows)

    async def undo(self, request: Request, user: Admitted) -> Response:
        action_id = request.path_params["action_id"]
        fields = await posted(request, user, self._forms)
        if isinstance(fields, str):
            _log.warning(
                "console refused POST %s from %s: %s", request.url.path, user.subject, fields
            )
            return self._pages.problem(
                403,
                "This form did not come from the console or has expired: reload the page "
                "and try again. Nothing was undone.",
                user=user,
                back=self._base,
                label="Back to response actions",
            )
        events: list[AuditEvent] = []
        runner = self._desk.runner(events.append)
        answer: Response = RedirectResponse(self._base, status_code=303)
        try:
            record = await runner.undo(self._desk.tenant_id, action_id, by=actor_of(user))
            _log.info(
                "action %s (%s %s) undone by %s",
                record.id,
                record.action,
                record.target,
                actor_of(user),
            )
        except NotFound:
            answer = self._problem(user, 404, f"There is no action {action_id[:80]!r}.")
        except InvalidInput as exc:
            answer = self._problem(user, 409, f"Nothing was undone: {exc}")
        except MenshenError as exc:  # the store failed part-way: say so, audit what was done
            _log.error("undo of action %s failed: %s", action_id, exc)
            answer = self._problem(user, 500, f"The undo failed: {exc}")
        if events:
            try:
                await run_in_threadpool(self._desk.audit, events)
            except MenshenError as exc:
                _log.error("action %s undone but not audited: %s", action_id, exc)
                answer = self._problem(user, 500, "The action was undone but not audited.")
        return answer

    def _problem(self, user: Admitted, status: int, message: str) -> Response:
        return self._pages.problem(
            status, message, user=user, back=self._base, label="Back to response actions"
        )
