"""The console's machine-clients page: the tenant's clients, suspend and resume.

``/clients`` lists the machine clients of the console's tenant (RFC 6749 §4.4 clients and API
keys, see docs/machine-clients.md): name, owner, scopes, state, creation, expiry, who
suspended it and why, last use, and each credential's kind, id, visible prefix, expiry and
state. Never a secret: the store holds only keyed hashes, and the page shows none of them.
Creating clients and issuing credentials stay on the command line (``menshen client create |
rotate``), where a credential is printed once.

Two forms per client, checked by ``forms.posted`` (CSRF token and same origin) before
anything is read: ``/clients/{name}/suspend`` (a reason is required) and ``/clients/{name}/
resume`` (an optional note). They call ``MachineClientService.suspend | resume``, the CLI's own
service, and are audited like ``menshen client suspend | resume``: ``admin.change`` with
reason ``client.suspend`` / ``client.resume``, subject ``client:NAME``, actor
``console:USERNAME``. A running gateway refuses a suspended client from its next state
refresh (NIST SP 800-207 §3.3, the policy administrator's action reaching the enforcement
point).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from menshen.app import Platform
from menshen.clock import Clock
from menshen.console.access import Admitted
from menshen.console.forms import FormGuard, posted
from menshen.console.incidents import actor_of
from menshen.console.pages import Page, Pages
from menshen.errors import InvalidInput, MenshenError, NotFound
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.identity.clients import API_KEY
from menshen.store.api import MachineClientRepository
from menshen.store.clients import ClientCredentialRecord, MachineClientRecord

__all__ = ["ClientDesk", "ClientPages", "ClientRegistry", "client_desk_for"]

_log = logging.getLogger("menshen.console")

MAX_REASON = 500  # what the service keeps (``MachineClientService``)
VERBS = ("suspend", "resume")


class ClientRegistry(Protocol):
    """The part of ``menshen.identity.clients.MachineClientService`` the console uses."""

    def get(self, name: str) -> MachineClientRecord: ...
    def suspend(self, name: str, *, by: str, reason: str) -> bool: ...
    def resume(self, name: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ClientDesk:
    """One tenant's machine clients, wired by the composition root (``console serve``)."""

    tenant_id: str
    registry: ClientRegistry
    repository: MachineClientRepository
    """The tenant's repository (reads only: clients and credential records)."""
    audit: Callable[[Sequence[AuditEvent]], None]
    """Writes audit events to the tenant's log at once (blocking)."""


def client_desk_for(platform: Platform, tenant_id: str) -> ClientDesk:
    """The desk for ``tenant_id`` made of the platform's services (as the CLI uses them)."""
    return ClientDesk(
        tenant_id=tenant_id,
        registry=platform.machine_clients(tenant_id),
        repository=platform.store.tenant(tenant_id).machine_clients,
        audit=platform.write_audit,
    )


class ClientPages:
    def __init__(self, pages: Pages, desk: ClientDesk, forms: FormGuard, clock: Clock) -> None:
        self._pages = pages
        self._desk = desk
        self._forms = forms
        self._clock = clock
        self._base = f"{pages.prefix}/clients"

    async def listing(self, request: Request, user: Admitted) -> Response:
        repo = self._desk.repository
        try:
            clients, credentials = await run_in_threadpool(
                lambda: (repo.list(), repo.credentials())
            )
        except MenshenError as exc:
            _log.error("console could not read the machine clients: %s", exc)
            return self._pages.problem(500, f"Could not read the machine clients: {exc}", user=user)
        now = self._clock.now()
        rows = [
            self._row(user, client, [c for c in credentials if c.client_name == client.name], now)
            for client in clients
        ]
        return self._pages.render(
            Page("clients.html"),
            user=user,
            clients=rows,
            max_reason=MAX_REASON,
            at=_when(now),
        )

    async def change(self, request: Request, user: Admitted) -> Response:
        name, verb = request.path_params["name"], request.path_params["verb"]
        fields = await posted(request, user, self._forms)
        if isinstance(fields, str):
            _log.warning("console refused POST %s from %s: %s", request.url.path, user.subject,
                         fields)  # fmt: skip
            return self._problem(
                user,
                403,
                "This form did not come from the console or has expired: reload the machine "
                "clients page and try again. Nothing was changed.",
            )
        if verb not in VERBS:
            return self._problem(user, 404, "There is no such change.")
        reason = " ".join(fields.get("reason", "").split())
        if verb == "suspend" and not reason:
            return self._problem(user, 400, "Say why the client is suspended. Nothing was changed.")
        if len(reason) > MAX_REASON:
            return self._problem(
                user, 400, f"The reason is longer than {MAX_REASON} characters. Nothing changed."
            )
        registry, by = self._desk.registry, actor_of(user)
        try:
            if verb == "suspend":
                done = await run_in_threadpool(lambda: registry.suspend(name, by=by, reason=reason))
            else:
                done = await run_in_threadpool(registry.resume, name)
        except NotFound:
            return self._problem(user, 404, f"There is no machine client {name[:80]!r}.")
        except InvalidInput as exc:
            return self._problem(user, 400, f"Nothing was changed: {exc}")
        if done:
            details = {"reason": reason} if reason else {}
            event = AuditEvent(
                tenant_id=self._desk.tenant_id,
                kind=Kind.ADMIN_CHANGE,
                outcome=Outcome.SUCCESS,
                at=self._clock.now(),
                actor=by,
                subject=f"client:{name}",
                session_id=user.session_id or None,
                reason=f"client.{verb}",
                details=details,
            )
            try:
                await run_in_threadpool(self._desk.audit, [event])
            except MenshenError as exc:
                _log.error("client %s: %s done but not audited: %s", name, verb, exc)
                return self._pages.problem(
                    500, "The change was made but could not be audited.", user=user
                )
            _log.info("machine client %s: %s by %s", name, verb, by)
        return RedirectResponse(f"{self._base}#client-{name}", status_code=303)

    # -- helpers ----------------------------------------------------------------------
    def _row(
        self,
        user: Admitted,
        client: MachineClientRecord,
        credentials: Sequence[ClientCredentialRecord],
        now: datetime,
    ) -> dict[str, Any]:
        path = f"{self._base}/{client.name}"
        return {
            "name": client.name,
            "description": client.description,
            "owner": client.owner,
            "scopes": client.scopes,
            "state": _state(client, now),
            "created": f"{_when(client.created_at)} by {client.created_by}",
            "expires": _when(client.expires_at),
            "suspended": client.suspended_at is not None,
            "suspended_at": _when(client.suspended_at),
            "suspended_by": client.suspended_by or "",
            "suspend_reason": client.suspend_reason or "",
            "last_used": _when(client.last_used_at),
            "credentials": [_credential(item, now) for item in credentials],
            "actions": {verb: f"{path}/{verb}" for verb in VERBS},
            "tokens": {verb: self._forms.token(user, f"{path}/{verb}") for verb in VERBS},
        }

    def _problem(self, user: Admitted, status: int, message: str) -> Response:
        return self._pages.problem(status, message, user=user, back=self._base,
                                   label="Machine clients")  # fmt: skip


def _credential(record: ClientCredentialRecord, now: datetime) -> dict[str, str]:
    if record.revoked_at is not None:
        state = "revoked"
    elif record.expires_at is not None and now >= record.expires_at:
        state = "expired"
    else:
        state = "active"
    return {
        "id": record.id,
        "kind": record.kind,
        # what the credential visibly starts with: an API key carries its public id
        "prefix": f"mk_{record.id}_…" if record.kind == API_KEY else "mcs_…",
        "created": _when(record.created_at),
        "expires": _when(record.expires_at),
        "state": state,
    }


def _state(client: MachineClientRecord, now: datetime) -> str:
    if client.suspended_at is not None:
        return "suspended"
    if client.expires_at is not None and now >= client.expires_at:
        return "expired"
    return "active"


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M %Z}"
