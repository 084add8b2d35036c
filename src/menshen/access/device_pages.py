"""``/.menshen/devices``: a signed-in user's own devices (NIST SP 800-207 §2.1 tenet 5).

The page lists the user's enrolled devices with the trust the access policy sees now
(``rules.trust_level`` over the stored record, as the guard computes it), their last posture
report and which one this browser is (its verified client certificate). "Enrol a device"
issues a single-use code for the device agent; a device can be renamed or removed, and
removing revokes it and ends every session used from it. Every form carries a session-bound
CSRF token and is checked against ``Origin`` (OWASP CSRF Prevention Cheat Sheet); only the
user's own devices can be changed, another's id is answered like an unknown one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens, same_origin
from menshen.access.forms import parse_form
from menshen.access.pages import Pages, redirect
from menshen.access.signin import SessionFinder
from menshen.clock import Clock
from menshen.errors import InvalidInput
from menshen.events.model import Kind, Outcome
from menshen.gateway.contract import Handle, RequestHead, Respond, Verdict
from menshen.identity.devices import DeviceEvents, DeviceFailed, DeviceService
from menshen.identity.devices.rules import trust_level
from menshen.sessions.service import SessionService
from menshen.store.records import DeviceRecord, SessionRecord

__all__ = ["DevicePages"]

PAGE = "/.menshen/devices"
_TIME = "%Y-%m-%d %H:%M UTC"


class DevicePages:
    def __init__(
        self,
        *,
        devices: Callable[[str], DeviceService],
        sessions: SessionService,
        find_session: SessionFinder,
        signed_in: Callable[[str, SessionRecord], bool],
        pages: Pages,
        csrf: CsrfTokens,
        audit: PageAudit,
        clock: Clock,
    ) -> None:
        self._devices = devices
        self._sessions = sessions
        self._find_session = find_session
        self._signed_in = signed_in
        self._pages = pages
        self._csrf = csrf
        self._audit = audit
        self._clock = clock

    # -- the list -------------------------------------------------------------------------
    def list_page(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._list(Context(head, ctx.tenant_id)))

    async def _list(self, ctx: Context) -> Respond:
        session = self._full_session(ctx)
        if session is None:
            return redirect("/.menshen/login")
        service = self._devices(ctx.tenant_id)
        records = await asyncio.to_thread(service.list_for_user, session.user_id)
        now = self._clock.now()
        rows = [
            self._row(record, service, session, ctx.head, now)
            for record in records
            if record.revoked_at is None
        ]
        return self._pages.render(
            "devices.html",
            tenant_id=ctx.tenant_id,
            title="Your devices",
            devices=rows,
            csrf_code=self._csrf.token(session.id, "device-code"),
            csrf_rename=self._csrf.token(session.id, "device-rename"),
            csrf_remove=self._csrf.token(session.id, "device-remove"),
        )

    @staticmethod
    def _row(
        record: DeviceRecord,
        service: DeviceService,
        session: SessionRecord,
        head: RequestHead,
        now: datetime,
    ) -> dict[str, object]:
        serial = head.client_cert_serial
        current = record.id == session.device_id or (
            serial is not None and serial == record.certificate_serial
        )
        reported = record.posture_reported_at
        return {
            "id": record.id,
            "name": record.name,
            "trust": trust_level(record, service.rules, now),
            "posture": _posture_text(record.posture) if reported is not None else "no report yet",
            "last_seen": "never" if reported is None else reported.strftime(_TIME),
            "created": record.created_at.strftime(_TIME),
            "current": current,
        }

    # -- enrolment code -------------------------------------------------------------------
    def code_submit(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._code(Context(head, ctx.tenant_id), body))

    async def _code(self, ctx: Context, body: bytes) -> Respond:
        checked = self._checked(ctx, body, "device-code")
        if isinstance(checked, Respond):
            return checked
        session, _ = checked
        issued = await asyncio.to_thread(self._devices(ctx.tenant_id).issue_code, session.user_id)
        self._audit.record(
            ctx,
            DeviceEvents.CODE_ISSUED,
            Outcome.SUCCESS,
            session,
            "enrolment code issued",
            expires=issued.expires_at.isoformat(),
        )
        return self._pages.render(
            "device_code.html",
            tenant_id=ctx.tenant_id,
            title="Enrol a device",
            code=issued.code,
            expires=issued.expires_at.strftime(_TIME),
            gateway=_origin(ctx.head),
        )

    # -- rename and remove ----------------------------------------------------------------
    def rename_submit(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._rename(Context(head, ctx.tenant_id), body))

    async def _rename(self, ctx: Context, body: bytes) -> Respond:
        checked = self._checked(ctx, body, "device-rename")
        if isinstance(checked, Respond):
            return checked
        session, form = checked
        device_id = form.get("device", "")
        service = self._devices(ctx.tenant_id)
        try:
            await asyncio.to_thread(
                service.rename, session.user_id, device_id, form.get("name", "")
            )
        except DeviceFailed as exc:
            return self._refused(
                ctx, session, DeviceEvents.RENAMED, exc.reason_for_audit, device_id
            )
        except InvalidInput as exc:
            return self._pages.message(
                tenant_id=ctx.tenant_id,
                status=400,
                heading="Not renamed",
                message=str(exc),
                link=PAGE,
            )
        self._audit.record(
            ctx,
            DeviceEvents.RENAMED,
            Outcome.SUCCESS,
            session,
            "renamed by its user",
            device=device_id,
        )
        return redirect(PAGE)

    def remove_submit(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._remove(Context(head, ctx.tenant_id), body))

    async def _remove(self, ctx: Context, body: bytes) -> Respond:
        checked = self._checked(ctx, body, "device-remove")
        if isinstance(checked, Respond):
            return checked
        session, form = checked
        device_id = form.get("device", "")
        service = self._devices(ctx.tenant_id)
        try:
            revoked = await asyncio.to_thread(service.remove, session.user_id, device_id)
        except (DeviceFailed, InvalidInput) as exc:
            reason = exc.reason_for_audit if isinstance(exc, DeviceFailed) else str(exc)
            return self._refused(ctx, session, DeviceEvents.REVOKED, reason, device_id)
        ended = await self._sessions.revoke_device(
            ctx.tenant_id,
            revoked.device_id,
            by=session.user_id,
            reason="device removed by its user",
        )
        self._audit.record(
            ctx,
            DeviceEvents.REVOKED,
            Outcome.SUCCESS,
            session,
            "removed by its user",
            device=revoked.device_id,
            sessions_ended=str(ended),
        )
        return redirect(PAGE)

    # -- helpers --------------------------------------------------------------------------
    def _full_session(self, ctx: Context) -> SessionRecord | None:
        """A session that finished sign-in (a password alone cannot manage devices)."""
        session, _ = self._find_session(ctx.head, ctx.tenant_id)
        if session is None or not self._signed_in(ctx.tenant_id, session):
            return None
        return session

    def _checked(
        self, ctx: Context, body: bytes, purpose: str
    ) -> tuple[SessionRecord, dict[str, str]] | Respond:
        session = self._full_session(ctx)
        if session is None:
            return redirect("/.menshen/login")
        head = ctx.head
        try:
            form = parse_form(body, head.header("content-type"))
        except InvalidInput:
            form = {}
        origin_ok = same_origin(
            head.header("origin"), scheme=head.scheme, host=head.host, port=head.port
        )
        if not origin_ok or not self._csrf.check(session.id, purpose, form.get("csrf")):
            self._audit.record(
                ctx, Kind.ATTACK_BLOCKED, Outcome.DENY, None, "forged or malformed form"
            )
            return self._pages.message(
                tenant_id=ctx.tenant_id,
                status=403,
                heading="Form expired",
                message="This form expired or did not come from this site. Go back and try again.",
                link=PAGE,
            )
        return session, form

    def _refused(
        self, ctx: Context, session: SessionRecord, kind: str, reason: str, device_id: str
    ) -> Respond:
        self._audit.record(ctx, kind, Outcome.FAILURE, session, reason, device=device_id[:128])
        return self._pages.message(
            tenant_id=ctx.tenant_id,
            status=404,
            heading="No such device",
            message="That device is not one of yours, or it was removed already.",
            link=PAGE,
        )


def _posture_text(posture: dict[str, Any]) -> str:
    def flag(name: str, label: str) -> str:
        return f"{label} {'on' if posture.get(name) is True else 'off'}"

    system = f"{posture.get('os', '?')} {posture.get('osVersion', '')}".strip()
    checks = ", ".join(
        (
            flag("diskEncrypted", "disk encryption"),
            flag("screenLock", "screen lock"),
            flag("firewall", "firewall"),
        )
    )
    return f"{system}; {checks}"


def _origin(head: RequestHead) -> str:
    default = 443 if head.scheme == "https" else 80
    port = "" if head.port == default else f":{head.port}"
    return f"{head.scheme}://{head.host}{port}"
