"""The device agent's two endpoints: enrol with a code, report posture with a signature.

``POST /.menshen/devices/enrol`` takes ``{"code", "name", "csr"}``: the single-use code a
signed-in user got from the devices page authenticates the call (the tenant is the host's),
and the answer is the device id, the client certificate the tenant's CA issued for the CSR's
key (RFC 2986 request, RFC 5280 certificate) and the CA certificate. ``POST
/.menshen/devices/posture`` takes ``{"device_id", "report"}``, a compact JWS signed ES256
with the device key (``menshen.identity.devices.posture``). Neither uses cookies, so neither
can be forged cross-site; both want ``application/json``. Enrolment needs HTTPS (a loopback
peer excepted, for a gateway tried out locally): a code read off a plain connection would let
the reader enrol their own key in the user's name. Every refusal is an audit event with the
precise reason, while the agent is told only that it was refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Callable
from typing import Any

from menshen.access.audit import Context, PageAudit
from menshen.access.pages import json_response, problem_json
from menshen.clock import Clock
from menshen.errors import InvalidInput
from menshen.events.model import Outcome
from menshen.gateway.contract import Handle, Respond, Verdict
from menshen.identity.devices import DeviceEvents, DeviceFailed, DeviceService
from menshen.identity.devices.rules import trust_level

__all__ = ["DeviceApi"]

MAX_BODY = 16 * 1024


class DeviceApi:
    def __init__(
        self, *, devices: Callable[[str], DeviceService], audit: PageAudit, clock: Clock
    ) -> None:
        self._devices = devices
        self._audit = audit
        self._clock = clock

    def enrol(self, ctx: Context) -> Verdict:
        return Handle(
            lambda head, body: self._enrol(Context(head, ctx.tenant_id), body),
            max_body_bytes=MAX_BODY,
        )

    def posture(self, ctx: Context) -> Verdict:
        return Handle(
            lambda head, body: self._posture(Context(head, ctx.tenant_id), body),
            max_body_bytes=MAX_BODY,
        )

    async def _enrol(self, ctx: Context, body: bytes) -> Respond:
        if ctx.head.scheme != "https" and not _loopback(ctx.head.peer_ip):
            reason = "enrolment over plain HTTP"
            self._audit.record(ctx, DeviceEvents.ENROL_REFUSED, Outcome.FAILURE, None, reason)
            return problem_json(403, "Forbidden", "Enrol devices over HTTPS.")
        fields = _strings(ctx, body, ("code", "name", "csr"))
        if fields is None:
            return self._malformed(ctx, DeviceEvents.ENROL_REFUSED)
        code, name, csr = fields
        service = self._devices(ctx.tenant_id)
        try:
            enrolment = await asyncio.to_thread(service.enrol_with_code, code, name, csr)
            authority = await asyncio.to_thread(service.authority_pem)
        except DeviceFailed as exc:
            self._audit.record(
                ctx, DeviceEvents.ENROL_REFUSED, Outcome.FAILURE, None, exc.reason_for_audit
            )
            return problem_json(
                403,
                "Forbidden",
                "This enrolment code is not valid. Ask for a new one on your devices page.",
            )
        except InvalidInput as exc:
            self._audit.record(ctx, DeviceEvents.ENROL_REFUSED, Outcome.FAILURE, None, str(exc))
            return problem_json(400, "Bad Request", str(exc))
        device = enrolment.device
        self._audit.record(
            ctx,
            DeviceEvents.ENROLLED,
            Outcome.SUCCESS,
            None,
            "enrolled with a code",
            subject=device.user_id,
            device=device.id,
            name=device.name,
            serial=device.certificate_serial or "",
        )
        return json_response(
            201,
            {
                "tenant": ctx.tenant_id,
                "device_id": device.id,
                "name": device.name,
                "certificate": enrolment.certificate_pem,
                "ca_certificate": authority,
            },
        )

    async def _posture(self, ctx: Context, body: bytes) -> Respond:
        fields = _strings(ctx, body, ("device_id", "report"))
        if fields is None:
            return self._malformed(ctx, DeviceEvents.POSTURE_REFUSED)
        device_id, report = fields
        service = self._devices(ctx.tenant_id)
        try:
            record = await asyncio.to_thread(service.report_posture, device_id, report)
        except DeviceFailed as exc:
            self._audit.record(
                ctx,
                DeviceEvents.POSTURE_REFUSED,
                Outcome.FAILURE,
                None,
                exc.reason_for_audit,
                device=device_id[:128],
            )
            return problem_json(403, "Forbidden", "The posture report was refused.")
        trust = trust_level(record, service.rules, self._clock.now())
        self._audit.record(
            ctx,
            DeviceEvents.POSTURE_ACCEPTED,
            Outcome.SUCCESS,
            None,
            f"trust {trust}",
            subject=record.user_id,
            device=record.id,
        )
        return json_response(200, {"device_id": record.id, "trust": trust})

    def _malformed(self, ctx: Context, kind: str) -> Respond:
        self._audit.record(ctx, kind, Outcome.FAILURE, None, "malformed request")
        return problem_json(400, "Bad Request", "Send a JSON object with the expected fields.")


def _loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _strings(ctx: Context, body: bytes, names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The named string fields of a JSON object body, or None if it is not one."""
    content_type = ctx.head.header("content-type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return None
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    values = tuple(data.get(name) for name in names)
    if not all(isinstance(value, str) and value for value in values):
        return None
    return tuple(str(value) for value in values)
