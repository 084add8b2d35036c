"""Which enrolled device a request comes from, read from memory on every request.

NIST SP 800-207 §2.1 tenet 5 and §3.3.1: the device's identity and posture are inputs to
every access decision, not only to the login. The device-bound credential is the client
certificate the tenant's device CA issued (``menshen.identity.devices.ca``); the TLS
listener verified it during the handshake and the connection read its serial once. Here
that serial meets a per-tenant snapshot ``{serial: device}`` of the registry, swapped in
whole by the server's upkeep whenever a tenant's revision moves, so the request path does
dictionary look-ups only.

Fail closed: an unknown or revoked serial (or one of another tenant's CA) is no device; a
certificate of another user's device is no device and an audit event; a session is bound to
the first device it is seen from, and arriving later with another certificate, or none, it
is from an unknown device. Trust is computed with ``rules.trust_level`` when the snapshot is
built and again once the last posture report grows too old.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from menshen.access.guard import LiveAttributes, NoLiveAttributes
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.gateway.contract import RequestHead
from menshen.identity.devices.model import TrustRules
from menshen.identity.devices.rules import policy_device, trust_changes_at
from menshen.policy.model import Device
from menshen.sessions.service import SessionService
from menshen.store.records import DeviceRecord, SessionRecord

__all__ = ["WRONG_USER", "LiveDevices", "TenantDevices"]

Publish = Callable[[AuditEvent], None]
WRONG_USER = "device credential presented by another user"
MAX_REPORTED = 10_000


@dataclass(slots=True)
class _Known:
    """A live device with a certificate, and what the policy sees of it until ``recheck_at``."""

    record: DeviceRecord
    device: Device
    recheck_at: datetime | None


@dataclass(frozen=True, slots=True)
class TenantDevices:
    """One tenant's registry as read from the store, with the rules to judge it."""

    records: tuple[DeviceRecord, ...]
    rules: TrustRules


class LiveDevices:
    """The guard's ``LiveAttributes``: the device from the snapshot, risk from ``risk``."""

    def __init__(
        self,
        *,
        sessions: SessionService,
        publish: Publish,
        risk: LiveAttributes | None = None,
    ) -> None:
        self._sessions = sessions
        self._publish = publish
        self._risk = risk or NoLiveAttributes()
        self._by_serial: dict[str, dict[str, _Known]] = {}
        self._rules: dict[str, TrustRules] = {}
        self._reported: set[tuple[str, str]] = set()

    # -- the snapshot -------------------------------------------------------------------
    def set_snapshot(
        self, snapshot: Mapping[str, TenantDevices], now: datetime
    ) -> list[tuple[str, str]]:
        """Swap in every tenant's registry; returns ``(tenant, device)`` of the devices that
        were live before and are revoked now (the caller ends their sessions)."""
        newly_revoked: list[tuple[str, str]] = []
        fresh: dict[str, dict[str, _Known]] = {}
        for tenant_id, tenant in snapshot.items():
            before = {known.record.id for known in self._by_serial.get(tenant_id, {}).values()}
            fresh[tenant_id] = {
                record.certificate_serial: _known(record, tenant.rules, now)
                for record in tenant.records
                if record.revoked_at is None and record.certificate_serial is not None
            }
            newly_revoked.extend(
                (tenant_id, record.id)
                for record in tenant.records
                if record.revoked_at is not None and record.id in before
            )
            self._rules[tenant_id] = tenant.rules
        self._by_serial = fresh
        return newly_revoked

    # -- LiveAttributes -----------------------------------------------------------------
    def risk(self, tenant_id: str, user_id: str) -> float:
        return self._risk.risk(tenant_id, user_id)

    def device(
        self, tenant_id: str, session: SessionRecord, head: RequestHead, now: datetime
    ) -> Device | None:
        serial = head.client_cert_serial
        if serial is None:  # the common case: no certificate, an unknown device
            return None
        known = self._by_serial.get(tenant_id, {}).get(serial)
        if known is None:
            return None
        record = known.record
        if record.user_id != session.user_id:
            self._report_wrong_user(tenant_id, session, head, record, now)
            return None
        if session.device_id is None:
            self._sessions.bind_device(session, record.id)
        elif session.device_id != record.id:
            return None
        not_after = record.certificate_not_after
        if not_after is not None and now > not_after:
            return None
        if known.recheck_at is not None and now > known.recheck_at:
            rules = self._rules[tenant_id]
            known.device = policy_device(record, rules, now)
            known.recheck_at = None  # past the report's age, time changes nothing more
        return known.device

    def _report_wrong_user(
        self,
        tenant_id: str,
        session: SessionRecord,
        head: RequestHead,
        record: DeviceRecord,
        now: datetime,
    ) -> None:
        key = (session.id, record.id)
        if key in self._reported:
            return
        if len(self._reported) >= MAX_REPORTED:
            self._reported.clear()
        self._reported.add(key)
        self._publish(
            AuditEvent(
                tenant_id=tenant_id,
                kind=Kind.ATTACK_BLOCKED,
                outcome=Outcome.DENY,
                at=now,
                actor=session.user_id,
                subject=record.user_id,
                ip=head.client_ip,
                session_id=session.id,
                reason=WRONG_USER,
                details={"device": record.id, "host": head.host, "path": head.path},
            )
        )


def _known(record: DeviceRecord, rules: TrustRules, now: datetime) -> _Known:
    return _Known(record, policy_device(record, rules, now), trust_changes_at(record, rules))


def snapshot_of(
    records_by_tenant: Mapping[str, Sequence[DeviceRecord]], rules_of: Callable[[str], TrustRules]
) -> dict[str, TenantDevices]:
    """Registry rows (as the store lists them) to the snapshot ``set_snapshot`` takes."""
    return {
        tenant_id: TenantDevices(tuple(records), rules_of(tenant_id))
        for tenant_id, records in records_by_tenant.items()
    }
