"""The console's compliance pages: the report's content and charts, one control, two forms.

``/compliance?framework=&lang=`` shows one framework of the loaded catalog for the firm, in
English or Traditional Chinese, from the latest stored evidence: the report's own document
(``compliance_view``), its scale, gaps, projection and trend against the last stored report.
``/compliance/controls/{id}`` shows one control with its evidence, the data behind it and
each check's measurement history. Two forms, each checked by ``forms.posted`` (CSRF token and
same origin) before anything runs and audited with the admin as actor:

* ``/compliance/collect`` measures the evidence now (``ComplianceService.collect``, off the
  event loop), then sends the browser back (303, post/redirect/get);
* ``/compliance/report`` produces the signed report (``ReportService.produce``, the CLI's own
  service, off the event loop; the PDF is laid out there too) and returns it as a download:
  the JSON envelope as is, HTML and PDF in a zip with their detached ``.sig``, the same two
  files ``menshen report`` writes.

Both forms change state (evidence history, the report record that the next trend compares
with), so neither is a GET.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from menshen.clock import Clock
from menshen.compliance.model import Evidence, Framework, Lang
from menshen.compliance.report.document import ReportDocument, build_document
from menshen.compliance.report.service import Format, parse_lang
from menshen.console.access import Admitted
from menshen.console.compliance_desk import ComplianceDesk
from menshen.console.compliance_files import download
from menshen.console.compliance_view import control_context, overview_context, text_of
from menshen.console.declarations import DeclarationForms
from menshen.console.forms import FormGuard, posted
from menshen.console.incidents import actor_of
from menshen.console.pages import Page, Pages
from menshen.errors import InvalidInput, MenshenError
from menshen.events.model import AuditEvent, Outcome

__all__ = ["PERIOD_DAYS", "REPORTED", "CompliancePages"]

_log = logging.getLogger("menshen.console")

REPORTED = "compliance.report.produced"
PERIOD_DAYS = 30
FORMATS = (Format.HTML, Format.JSON, Format.PDF, Format.OSCAL)
Handler = Callable[[Request, Admitted], Awaitable[Response]]
Guard = Callable[[Handler], Callable[[Request], Awaitable[Response]]]


class CompliancePages:
    def __init__(self, pages: Pages, desk: ComplianceDesk, forms: FormGuard, clock: Clock) -> None:
        self._pages = pages
        self._desk = desk
        self._forms = forms
        self._clock = clock
        self._base = f"{pages.prefix}/compliance"
        self._declarations = DeclarationForms(pages, desk, forms, clock)

    def routes(self, guarded: Guard) -> list[Route]:
        base = self._base
        return [
            Route(base, guarded(self.overview)),
            Route(f"{base}/controls/{{control_id:path}}", guarded(self.control)),
            Route(f"{base}/collect", guarded(self.collect), methods=["POST"]),
            Route(f"{base}/report", guarded(self.report), methods=["POST"]),
            *self._declarations.routes(guarded),  # declare / undeclare (declarations.py)
        ]

    # -- pages ------------------------------------------------------------------------
    async def overview(self, request: Request, user: Admitted) -> Response:
        chosen = self._choose(request.query_params, user)
        if isinstance(chosen, Response):
            return chosen
        framework, lang = chosen
        try:
            doc, stored = await run_in_threadpool(self._document, framework, lang)
        except MenshenError as exc:
            return self._failed(user, "read the compliance evidence", exc)
        return self._pages.render(
            Page("compliance.html"),
            user=user,
            t=lambda key, **values: text_of(key, lang, **values),
            lang=lang.value,
            html_lang="zh-Hant-TW" if lang is Lang.ZH_TW else "en",
            frameworks=self._framework_choices(lang),
            chosen=framework.id,
            langs=[item.value for item in Lang],
            formats=[item.value for item in FORMATS],
            base=self._base,
            query=urlencode({"framework": framework.id, "lang": lang.value}),
            measured=stored,
            tokens={
                verb: self._forms.token(user, f"{self._base}/{verb}")
                for verb in ("collect", "report")
            },
            **overview_context(doc),
        )

    async def control(self, request: Request, user: Admitted) -> Response:
        control_id = request.path_params["control_id"]
        chosen = self._choose(request.query_params, user, control_id=control_id)
        if isinstance(chosen, Response):
            return chosen
        framework, lang = chosen
        control = framework.control(control_id)
        if control is None:
            return self._pages.problem(
                404,
                f"There is no control {control_id[:120]!r} in {framework.id}.",
                user=user,
                back=self._base,
                label="Compliance",
            )
        try:
            doc, _ = await run_in_threadpool(self._document, framework, lang)
            history = await run_in_threadpool(self._history, control.checks)
            forms = await self._declarations.context(user, control.id)
        except MenshenError as exc:
            return self._failed(user, "read the compliance evidence", exc)
        result = next(r for r in doc.assessment.results if r.control.id == control.id)
        return self._pages.render(
            Page("compliance_control.html"),
            user=user,
            t=lambda key, **values: text_of(key, lang, **values),
            lang=lang.value,
            html_lang="zh-Hant-TW" if lang is Lang.ZH_TW else "en",
            framework_title=framework.title.get(lang),
            base=self._base,
            back=f"{self._base}?{urlencode({'framework': framework.id, 'lang': lang.value})}",
            **control_context(doc, result, history, self._desk.catalog),
            **forms,
        )

    # -- forms ------------------------------------------------------------------------
    async def collect(self, request: Request, user: Admitted) -> Response:
        fields = await posted(request, user, self._forms)
        if isinstance(fields, str):
            return self._refused(request, user, fields)
        desk, actor = self._desk, actor_of(user)
        try:  # the service stores the history and audits it with the admin as actor
            found = await asyncio.to_thread(
                desk.evidence.collect, desk.tenant_id, by=actor, days=PERIOD_DAYS
            )
        except MenshenError as exc:
            return self._failed(user, "collect the evidence (nothing is stored)", exc)
        _log.info("compliance evidence collected by %s: %d checks", actor, len(found))
        return RedirectResponse(f"{self._base}?{self._back_query(fields)}", status_code=303)

    async def report(self, request: Request, user: Admitted) -> Response:
        fields = await posted(request, user, self._forms)
        if isinstance(fields, str):
            return self._refused(request, user, fields)
        chosen = self._choose(fields, user)
        if isinstance(chosen, Response):
            return chosen
        framework, lang = chosen
        try:
            fmt = Format(fields.get("format", ""))
            if fmt not in FORMATS:
                raise ValueError(fmt)
        except ValueError:
            return self._pages.problem(
                400, "Unknown report format.", user=user, back=self._base, label="Compliance"
            )
        try:
            made = await asyncio.to_thread(
                self._desk.reports.produce, framework.id, lang, fmt, period_days=PERIOD_DAYS
            )
        except InvalidInput as exc:
            return self._pages.problem(
                400, f"No report was made: {exc}", user=user, back=self._base, label="Compliance"
            )
        except MenshenError as exc:
            return self._failed(user, "produce the report", exc)
        record = made.record
        event = self._event(
            REPORTED,
            user,
            {
                "report": record.id,
                "framework": record.framework,
                "lang": record.lang,
                "format": record.format,
                "content_sha256": record.content_sha256,
                "key_id": record.key_id,
            },
        )
        if not await self._audited(event, user):
            return self._pages.problem(
                500, "The report was made but could not be audited.", user=user
            )
        _log.info("compliance report %s produced by %s", record.id, event.actor)
        return download(made, self._desk.tenant_id, self._clock.now())

    # -- helpers ----------------------------------------------------------------------
    def _choose(
        self, params: Mapping[str, str], user: Admitted, *, control_id: str | None = None
    ) -> tuple[Framework, Lang] | Response:
        catalog = self._desk.catalog
        framework_id = params.get("framework", "")
        if not framework_id and control_id is not None:
            framework_id = next(
                (f.id for f in catalog.frameworks.values() if f.control(control_id)), ""
            )
        framework = catalog.frameworks.get(framework_id or self._desk.default_framework())
        if framework is None:
            shown = framework_id or control_id or ""
            return self._pages.problem(
                404,
                f"There is no framework or control {shown[:120]!r} in the catalog.",
                user=user,
                back=self._base,
                label="Compliance",
            )
        try:
            lang = parse_lang(params.get("lang", "en") or "en")
        except InvalidInput:
            return self._pages.problem(
                400, "Unknown language (en or zh-TW).", user=user, back=self._base,
                label="Compliance",
            )  # fmt: skip
        return framework, lang

    def _document(self, framework: Framework, lang: Lang) -> tuple[ReportDocument, bool]:
        """The report's document over the latest stored evidence (blocking: SQL)."""
        desk, now = self._desk, self._clock.now()
        evidence = desk.evidence.latest_evidence(desk.tenant_id)
        doc = build_document(
            framework,
            evidence,
            desk.evidence.declarations(desk.tenant_id),
            desk.evidence.profile(desk.tenant_id),
            lang=lang,
            period_start=now - timedelta(days=PERIOD_DAYS),
            period_end=now,
            at=now,
            previous_summary=desk.previous_summary(framework.id),
        )
        return doc, bool(evidence)

    def _history(self, checks: Sequence[str]) -> dict[str, Sequence[Evidence]]:
        tenant_id = self._desk.tenant_id
        return {check_id: self._desk.evidence.history(tenant_id, check_id) for check_id in checks}

    def _framework_choices(self, lang: Lang) -> list[tuple[str, str]]:
        frameworks = self._desk.catalog.frameworks
        return [(key, frameworks[key].title.get(lang)) for key in sorted(frameworks)]

    def _back_query(self, fields: Mapping[str, str]) -> str:
        framework = fields.get("framework", "")
        lang = fields.get("lang", "")
        params = {}
        if framework in self._desk.catalog.frameworks:
            params["framework"] = framework
        if lang in {item.value for item in Lang}:
            params["lang"] = lang
        return urlencode(params)

    def _event(self, kind: str, user: Admitted, details: dict[str, object]) -> AuditEvent:
        return AuditEvent(
            tenant_id=self._desk.tenant_id,
            kind=kind,
            outcome=Outcome.SUCCESS,
            at=self._clock.now(),
            actor=actor_of(user),
            subject=self._desk.tenant_id,
            session_id=user.session_id or None,
            details=details,
        )

    async def _audited(self, event: AuditEvent, user: Admitted) -> bool:
        try:
            await asyncio.to_thread(self._desk.audit, [event])
        except MenshenError as exc:
            _log.error("%s by %s done but not audited: %s", event.kind, user.subject, exc)
            return False
        return True

    def _refused(self, request: Request, user: Admitted, why: str) -> Response:
        _log.warning("console refused POST %s from %s: %s", request.url.path, user.subject, why)
        return self._pages.problem(
            403,
            "This form did not come from the console or has expired: reload the compliance "
            "page and try again. Nothing was changed.",
            user=user,
            back=self._base,
            label="Compliance",
        )

    def _failed(self, user: Admitted, what: str, exc: MenshenError) -> Response:
        _log.error("console could not %s: %s", what, exc)
        return self._pages.problem(500, f"Could not {what}: {exc}", user=user, back=self._base,
                                   label="Compliance")  # fmt: skip
