"""``LiveSources``: the evidence sources of one tenant, read from its store and the settings
(NIST SP 800-137 §3.2, the monitoring data the organisation already holds).

Blocking (SQL): call it from a thread in async code. Each source is read once per instance
and kept, so the collectors share one read of the users, apps and audit log; make a new
instance for a new measurement. A failure is kept too, so every check that needs a broken
source reports the same error. The audit log is read once, in one pass that verifies its
chain and picks out administrative actions and access decisions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from menshen.compliance.live_apps import app_facts
from menshen.compliance.sources import (
    AccessLogFacts,
    AdminAction,
    AppFacts,
    ChainFacts,
    ClientFacts,
    CredentialFacts,
    DeviceFacts,
    GroupFacts,
    IncidentFacts,
    ListenerFacts,
    LockoutFacts,
    MonitorFacts,
    PasswordFacts,
    PlaybookFacts,
    PolicyTestFacts,
    PostureFacts,
    ProviderFacts,
    SessionFacts,
    UserFacts,
)
from menshen.events.chain import verify_chain
from menshen.identity.devices.model import TrustRules
from menshen.identity.devices.rules import trust_level
from menshen.identity.model import MIN_PASSWORD_CHARS
from menshen.identity.passwords import OWASP_PARAMS
from menshen.identity.throttle import DEFAULT_THROTTLE
from menshen.inventory.model import ObservedFlow
from menshen.manifest.load import (
    compile_tenant_policy,
    stored_apps,
    stored_ip_lists,
    stored_policies,
)
from menshen.manifest.parse import to_app_policy
from menshen.policy.compile import CompiledPolicy
from menshen.policy.expectations import parse_expectations, run_expectations
from menshen.segmentation import repository
from menshen.segmentation.resolve import Segmentation
from menshen.settings import Settings
from menshen.store.api import TenantStore
from menshen.store.records import AuditRecord, SessionRecord

__all__ = ["ACCESS_KINDS", "LiveSources"]

T = TypeVar("T")
ACCESS_KINDS = frozenset({"access.allow", "access.deny", "access.step_up"})
ADMIN_PREFIX = "admin."
CLI_ACTOR = "cli:"
# Measuring and reporting change nothing: they are not administrative actions.
READ_ONLY_KINDS = frozenset({"compliance.evidence_collected", "compliance.report.produced"})
TEST_KIND = "PolicyTest"
LOCK_PROBES = 10


class LiveSources:
    """``EvidenceSources`` over one tenant's store and the settings."""

    def __init__(
        self,
        tenant: TenantStore,
        settings: Settings,
        *,
        observed: Sequence[ObservedFlow] | None = None,
    ) -> None:
        self._tenant = tenant
        self._settings = settings
        self._options = settings.options(tenant.tenant_id)
        self._observed = None if observed is None else tuple(observed)
        self._kept: dict[object, tuple[bool, Any]] = {}

    def _once(self, key: object, read: Callable[[], T]) -> T:
        if key not in self._kept:
            try:
                self._kept[key] = (True, read())
            except Exception as exc:  # kept, so each check needing it reports the same error
                self._kept[key] = (False, exc)
        ok, value = self._kept[key]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    # -- people --------------------------------------------------------------------------
    def _sessions_of(self) -> dict[str, Sequence[SessionRecord]]:
        def read() -> dict[str, Sequence[SessionRecord]]:
            sessions = self._tenant.sessions
            return {
                user.id: sessions.list_for_user(user.id, include_revoked=True)
                for user in self._tenant.users.list()
            }

        return self._once("sessions", read)

    def users(self) -> Sequence[UserFacts]:
        return self._once("users", self._read_users)

    def _read_users(self) -> list[UserFacts]:
        tenant = self._tenant
        members: dict[str, set[str]] = {}
        for group in tenant.groups.list():
            for user in tenant.groups.members(group.id):
                members.setdefault(user.id, set()).add(group.name)
        sessions = self._sessions_of()
        found = []
        for user in tenant.users.list():
            mfa: set[Literal["totp", "passkey", "sso"]] = set()
            totp = tenant.credentials.get_totp(user.id)
            if totp is not None and totp.confirmed:
                mfa.add("totp")
            if any(c.cloned_at is None for c in tenant.webauthn.list_for_user(user.id)):
                mfa.add("passkey")
            own = sessions.get(user.id, ())
            if any(s.mfa_method == "idp" for s in own):
                mfa.add("sso")
            found.append(
                UserFacts(
                    username=user.username,
                    groups=frozenset(members.get(user.id, ())),
                    disabled=user.disabled,
                    created_at=user.created_at,
                    mfa=frozenset(mfa),
                    last_sign_in=max((s.created_at for s in own), default=None),
                    hashing=_hashing(user.password_hash),
                )
            )
        return found

    def groups(self) -> Sequence[GroupFacts]:
        return self._once(
            "groups",
            lambda: [GroupFacts(g.name, g.mfa_required) for g in self._tenant.groups.list()],
        )

    # -- policy and apps -----------------------------------------------------------------
    def _compiled(self) -> CompiledPolicy:
        def read() -> CompiledPolicy:
            tenant = self._tenant
            return compile_tenant_policy(
                tenant.tenant_id,
                stored_policies(tenant),
                stored_apps(tenant),
                stored_ip_lists(tenant),
            )

        return self._once("compiled", read)

    def apps(self) -> Sequence[AppFacts]:
        def read() -> list[AppFacts]:
            self._compiled()  # a stored policy that no longer compiles fails the source
            policies = [to_app_policy(spec) for spec in stored_policies(self._tenant)]
            seg = self.segmentation()
            inventory = None if seg is None else seg.inventory
            return app_facts(stored_apps(self._tenant), policies, inventory)

        return self._once("apps", read)

    def policy_tests(self, at: datetime) -> PolicyTestFacts:
        def read() -> PolicyTestFacts:
            records = self._tenant.config.list(TEST_KIND)
            if not records:
                return PolicyTestFacts(0)
            directory = {u.username: u.groups for u in self.users()}
            cases = tuple(c for r in records for c in parse_expectations(r.spec))
            results = run_expectations(self._compiled(), cases, now=at, directory=directory)
            failed = tuple(r.expectation.title() for r in results if not r.passed)
            return PolicyTestFacts(len(results), failed)

        return self._once(("tests", at), read)

    # -- gateway and identity settings ----------------------------------------------------
    def sessions(self) -> SessionFacts:
        settings = self._settings.sessions
        return SessionFacts(settings.idle_timeout, settings.absolute_timeout)

    def listeners(self) -> Sequence[ListenerFacts]:
        return [
            ListenerFacts(
                f"{item.host}:{item.port}", item.tls_cert is not None, _loopback(item.host)
            )
            for item in self._settings.listeners
        ]

    def lockout(self) -> LockoutFacts:
        rule = DEFAULT_THROTTLE.account
        locks = tuple(
            rule.lock_for(n) if n >= rule.max_failures else timedelta(0)
            for n in range(1, LOCK_PROBES + 1)
        )
        return LockoutFacts(locks, rule.window)

    def passwords(self) -> PasswordFacts:
        return PasswordFacts(
            MIN_PASSWORD_CHARS, "argon2id", OWASP_PARAMS.memory_kib, OWASP_PARAMS.time_cost
        )

    def providers(self) -> Sequence[ProviderFacts]:
        return [
            ProviderFacts(p.name, p.recheck_interval)
            for p in self._settings.providers_of(self._tenant.tenant_id)
        ]

    # -- devices -------------------------------------------------------------------------
    def devices(self, at: datetime) -> Sequence[DeviceFacts]:
        def read() -> list[DeviceFacts]:
            options = self._options.devices
            rules = TrustRules(
                max_report_age=options.max_report_age,
                require_disk_encryption=options.require_disk_encryption,
                require_screen_lock=options.require_screen_lock,
            )
            owners = {user.id: user.username for user in self._tenant.users.list()}
            return [
                DeviceFacts(
                    id=d.id,
                    owner=owners.get(d.user_id, d.user_id),
                    approved=d.approved_trust,
                    trust=trust_level(d, rules, at),
                    revoked=d.revoked_at is not None,
                    reported_at=d.posture_reported_at,
                )
                for d in self._tenant.devices.list()
            ]

        return self._once(("devices", at), read)

    def posture(self) -> PostureFacts:
        options = self._options.devices
        return PostureFacts(
            options.require_disk_encryption, options.require_screen_lock, options.max_report_age
        )

    # -- inventory and segmentation --------------------------------------------------------
    def segmentation(self) -> Segmentation | None:
        def read() -> Segmentation | None:
            if not self._tenant.config.list("Asset"):
                return None
            return repository.load_segmentation(self._tenant)

        return self._once("segmentation", read)

    def observed_flows(self) -> Sequence[ObservedFlow] | None:
        return self._observed

    # -- audit log -----------------------------------------------------------------------
    def _scan(
        self, start: datetime, end: datetime
    ) -> tuple[ChainFacts, list[AdminAction], set[str], int]:
        def read() -> tuple[ChainFacts, list[AdminAction], set[str], int]:
            actions: list[AdminAction] = []
            logged: set[str] = set()
            decisions = 0

            def tap(records: Iterator[AuditRecord]) -> Iterator[AuditRecord]:
                nonlocal decisions
                for record in records:
                    if start <= record.at <= end:
                        if record.kind in ACCESS_KINDS:
                            decisions += 1
                            if record.session_id:
                                logged.add(record.session_id)
                        elif _admin(record):
                            actions.append(self._action(record))
                    yield record

            report = verify_chain(tap(iter(self._tenant.audit.iterate())))
            chain = ChainFacts(report.ok, report.count, report.first_bad_seq, report.reason)
            return chain, actions, logged, decisions

        return self._once(("audit", start, end), read)

    def _action(self, record: AuditRecord) -> AdminAction:
        actor = record.actor or "unknown"
        detail = record.reason or record.subject or ""
        if actor.startswith(CLI_ACTOR):
            return AdminAction(record.at, actor, record.kind, "cli", None, detail)
        if record.session_id:
            session = self._tenant.sessions.get(record.session_id)
            mfa = session is not None and session.auth_level == "mfa"
            return AdminAction(record.at, actor, record.kind, "session", mfa, detail)
        return AdminAction(record.at, actor, record.kind, "other", None, detail)

    def audit_chain(self) -> ChainFacts:
        for key, (ok, value) in self._kept.items():
            if ok and isinstance(key, tuple) and key[0] == "audit":
                return value[0]  # type: ignore[no-any-return]
        epoch = datetime.min.replace(tzinfo=UTC)
        return self._scan(epoch, epoch)[0]

    def admin_actions(self, start: datetime, end: datetime) -> Sequence[AdminAction]:
        return self._scan(start, end)[1]

    def access_log(self, start: datetime, end: datetime) -> AccessLogFacts:
        _, _, logged, decisions = self._scan(start, end)
        used = {
            s.id
            for own in self._sessions_of().values()
            for s in own
            if start <= s.last_seen_at <= end and s.last_seen_at > s.created_at
        }
        return AccessLogFacts(frozenset(used), frozenset(logged), decisions)

    # -- monitor -------------------------------------------------------------------------
    def monitor(self) -> MonitorFacts:
        def read() -> MonitorFacts:
            options = self._options.monitor
            return MonitorFacts(
                engine=self._settings.monitor_engine,
                baselines=self._tenant.baselines.count(),
                observe_only=options.observe_only,
                playbooks=tuple(
                    PlaybookFacts(p.name, p.actions, p.notify) for p in options.playbooks
                ),
                notifiers=tuple(sorted(options.notifiers)),
            )

        return self._once("monitor", read)

    def incidents(self, start: datetime, end: datetime) -> Sequence[IncidentFacts]:
        return [
            IncidentFacts(r.id, r.first_event_at, r.detected_at, r.responded_at)
            for r in self._tenant.incidents.list(since=start, until=end)
        ]

    def machine_clients(self) -> Sequence[ClientFacts] | None:
        def read() -> list[ClientFacts]:
            registry = self._tenant.machine_clients
            credentials: dict[str, list[CredentialFacts]] = {}
            for cred in registry.credentials():
                credentials.setdefault(cred.client_name, []).append(
                    CredentialFacts(
                        cred.id,
                        cred.kind,
                        cred.created_at,
                        cred.expires_at,
                        cred.revoked_at is not None,
                    )
                )
            return [
                ClientFacts(
                    c.name, c.owner, c.suspended_at is not None, tuple(credentials.get(c.name, ()))
                )
                for c in registry.list()
            ]

        return self._once("clients", read)


def _hashing(stored: str | None) -> Literal["argon2id", "none", "other"]:
    if stored is None:
        return "none"
    return "argon2id" if stored.startswith("$argon2id$") else "other"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _admin(record: AuditRecord) -> bool:
    if record.kind in READ_ONLY_KINDS:
        return False
    return record.kind.startswith(ADMIN_PREFIX) or (record.actor or "").startswith(CLI_ACTOR)
