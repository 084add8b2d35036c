"""The console as a Starlette app that trusts nothing but the gateway's signed assertion.

Dogfooding: the console is an internal app like any other. It listens on a loopback port,
the gateway fronts it as an App (e.g. ``/console/``) under a policy (administrators with
MFA), and every request must carry a valid ``X-Menshen-Assertion`` for the console's
audience, checked against the gateway's JWKS (``menshen.assertions.upstream``) and then by
``access.admit``. A missing, forged, expired or foreign assertion is a 401; a valid one from
someone who does not qualify a 403; the precise reason goes to the log only.

Pages: ``/`` (what is here), ``/segmentation`` (the picture, a form choosing an asset for
the blast-radius overlay, tables of zones, assets and allowed flows) and
``/segmentation.svg`` (the same picture as a file). With a ``MonitorDesk``, also
``/incidents``, ``/incidents/{id}``, ``/risks`` and ``/responses`` (``incidents``, ``risks``),
whose forms POST under CSRF checks (``forms``); with a ``ComplianceDesk`` the compliance
pages (``compliance``, ``declarations``), with a ``ClientDesk`` ``/clients`` (``clients``).
No script.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from menshen.assertions.upstream import UpstreamIdentity
from menshen.clock import Clock
from menshen.console.access import Admitted, ConsoleAccess, Refused, admit
from menshen.console.clients import ClientDesk, ClientPages
from menshen.console.compliance import CompliancePages
from menshen.console.compliance_desk import ComplianceDesk
from menshen.console.desk import MonitorDesk
from menshen.console.forms import FormGuard
from menshen.console.incidents import IncidentPages
from menshen.console.pages import (
    SVG_HEADERS,
    Page,
    Pages,
    asset_rows,
    blast_rows,
    rule_rows,
    zone_rows,
)
from menshen.console.risks import RiskPages
from menshen.errors import MenshenError, NotFound
from menshen.segmentation.blast import blast_radius
from menshen.segmentation.picture import PictureOptions, draw
from menshen.segmentation.resolve import Segmentation

_log = logging.getLogger("menshen.console")

ModelSource = Callable[[], Segmentation]
"""Reads the tenant's model (blocking: it is run in a worker thread)."""
Handler = Callable[[Request, Admitted], Awaitable[Response]]
CONSOLE_FORM_KEY = "menshen/console-forms/v1"
"""HKDF ``info`` deriving the console's form (CSRF) key from the master key."""


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    prefix: str = "/console"
    """Path prefix of the gateway App fronting the console (the gateway does not strip it)."""
    access: ConsoleAccess = field(default_factory=ConsoleAccess)
    picture: PictureOptions = field(default_factory=PictureOptions)

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/") or self.prefix.endswith("/") or "//" in self.prefix:
            raise ValueError("prefix must start with '/' and not end with it, e.g. /console")


def build_console(
    config: ConsoleConfig,
    *,
    identity: UpstreamIdentity,
    load_model: ModelSource,
    clock: Clock,
    monitor: MonitorDesk | None = None,
    form_key: bytes = b"",
    compliance: ComplianceDesk | None = None,
    clients: ClientDesk | None = None,
) -> Starlette:
    """The console app; ``identity`` verifies assertions for the console's audience.

    ``monitor`` adds the incident, risk and response pages for its tenant; ``form_key`` (32
    random bytes or more) then keys their forms' CSRF tokens. ``compliance`` adds the
    compliance pages (``compliance``), whose forms use the same key; ``clients`` the machine
    clients page (``clients``), likewise.
    """
    pages = Pages(
        config.prefix,
        monitoring=monitor is not None,
        compliance=compliance is not None,
        clients=clients is not None,
    )

    def guarded(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            claims = await identity.claims(request.headers)
            decision = admit(claims, config.access, clock.now())
            if isinstance(decision, Refused):
                _log.warning(
                    "console refused %s %s: %s", request.method, request.url.path, decision.reason
                )
                return pages.render(Page("refused.html", decision.status), status=decision.status)
            return await handler(request, decision)

        return endpoint

    async def load() -> Segmentation | Response:
        try:
            return await run_in_threadpool(load_model)
        except MenshenError as exc:
            _log.error("console could not load the segmentation model: %s", exc)
            return pages.render(Page("problem.html", 500), message=str(exc))

    async def index(request: Request, user: Admitted) -> Response:
        return pages.render(Page("index.html"), user=user)

    async def segmentation(request: Request, user: Admitted) -> Response:
        seg = await load()
        if isinstance(seg, Response):
            return seg
        chosen = request.query_params.get("asset", "")
        now = clock.now()
        blast, status, notice = None, 200, ""
        if chosen:
            try:
                blast = blast_radius(seg, chosen, now)
            except NotFound:
                status, notice = 404, f"There is no asset {chosen!r} in the inventory."
        svg = draw(seg, now, blast=blast, options=config.picture)
        return pages.render(
            Page("segmentation.html", status),
            user=user,
            svg=Markup(svg),  # noqa: S704 - the picture escapes every text itself
            chosen=chosen if blast is not None else "",
            notice=notice,
            blast=None if blast is None else blast_rows(blast),
            zones=zone_rows(seg),
            assets=asset_rows(seg),
            rules=rule_rows(seg),
            at=f"{now:%Y-%m-%d %H:%M %Z}",
        )

    async def picture(request: Request, user: Admitted) -> Response:
        seg = await load()
        if isinstance(seg, Response):
            return seg
        chosen = request.query_params.get("asset", "")
        now = clock.now()
        try:
            blast = blast_radius(seg, chosen, now) if chosen else None
        except NotFound:
            return pages.render(Page("problem.html", 404), message=f"There is no asset {chosen!r}.")
        svg = draw(seg, now, blast=blast, options=config.picture)
        return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)

    async def home(request: Request, user: Admitted) -> Response:
        return RedirectResponse(f"{config.prefix}/", status_code=302)

    prefix = config.prefix
    routes = [
        Route(prefix, guarded(home)),
        Route(f"{prefix}/", guarded(index)),
        Route(f"{prefix}/segmentation", guarded(segmentation)),
        Route(f"{prefix}/segmentation.svg", guarded(picture)),
    ]
    if monitor is not None:
        forms = FormGuard(form_key)
        incidents = IncidentPages(pages, monitor, forms, clock)
        risks = RiskPages(pages, monitor, forms, clock)
        routes += [
            Route(f"{prefix}/incidents", guarded(incidents.listing)),
            Route(f"{prefix}/incidents/{{incident_id}}", guarded(incidents.show)),
            Route(
                f"{prefix}/incidents/{{incident_id}}/{{verb}}",
                guarded(incidents.change),
                methods=["POST"],
            ),
            Route(f"{prefix}/risks", guarded(risks.risks)),
            Route(f"{prefix}/responses", guarded(risks.responses)),
            Route(f"{prefix}/responses/{{action_id}}/undo", guarded(risks.undo), methods=["POST"]),
        ]
    if compliance is not None:  # /compliance pages (compliance.py)
        routes += CompliancePages(pages, compliance, FormGuard(form_key), clock).routes(guarded)
    if clients is not None:  # /clients (clients.py)
        client_pages = ClientPages(pages, clients, FormGuard(form_key), clock)
        routes += [
            Route(f"{prefix}/clients", guarded(client_pages.listing)),
            Route(f"{prefix}/clients/{{name}}/{{verb}}", guarded(client_pages.change),
                  methods=["POST"]),
        ]  # fmt: skip
    return Starlette(routes=routes)
