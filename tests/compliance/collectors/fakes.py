"""A fake ``EvidenceSources``: a small, well-run firm every check passes on. Tests change one
field to make one check fail; ``broken`` names sources that raise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from menshen.compliance.sources import (
    AccessLogFacts,
    AdminAction,
    AppFacts,
    ChainFacts,
    ClientFacts,
    CollectContext,
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
    RuleFacts,
    SessionFacts,
    UserFacts,
)
from menshen.inventory.model import ObservedFlow
from menshen.segmentation.files import build, parse_text
from menshen.segmentation.resolve import Segmentation
from menshen.settings_compliance import ComplianceOptions

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPTIONS = ComplianceOptions(external_groups=("partner-bank",))
CTX = CollectContext.last_days("t1", AT, OPTIONS)

FIRM = """\
apiVersion: menshen.dev/v1
kind: Inventory
metadata: {name: small-firm}
spec:
  assets:
    - {id: laptop-1, kind: workstation, labels: {role: workstation, group: staff},
       addresses: [10.10.0.1]}
    - {id: laptop-c, kind: workstation, labels: {role: workstation, group: contractor},
       addresses: [10.50.0.1]}
    - {id: gateway, kind: service, labels: {role: gateway}, addresses: [10.20.0.1]}
    - {id: vendor-gw, kind: service, labels: {role: vendor-gateway}, addresses: [10.20.0.2]}
    - id: wiki
      kind: host
      labels: {role: wiki}
      addresses: [10.30.0.9]
      gatewayApps: [wiki]
      dataStores:
        - {id: pages, classification: internal}
    - id: settle-web
      kind: host
      labels: {role: web, app: settlement}
      addresses: [10.30.0.1]
      gatewayApps: [settlement]
    - id: settle-db
      kind: database
      labels: {role: database}
      addresses: [10.40.0.1]
      dataStores:
        - {id: ledger, classification: restricted, tags: [settlement]}
  flows:
    - {id: web-to-db, from: settle-web, to: settle-db, ports: [tcp/5432],
       classification: restricted}
---
apiVersion: menshen.dev/v1
kind: Segmentation
metadata: {name: small-firm}
spec:
  zones:
    - {name: staff, select: {labels: {group: staff}}}
    - {name: contractors, select: {labels: {group: contractor}}}
    - {name: gateway, select: {labels: {role: gateway}}}
    - {name: vendor-gateway, select: {labels: {role: vendor-gateway}}}
    - {name: wiki, select: {labels: {role: wiki}}}
    - {name: web, select: {labels: {role: web}}}
    - {name: db, select: {labels: {role: database}}}
  ruleSets:
    - name: access
      rules:
        - {id: ACC-1, from: [staff], to: [gateway], ports: [tcp/443]}
        - {id: VEN-1, from: [contractors], to: [vendor-gateway], ports: [tcp/443]}
        - {id: VEN-2, from: [vendor-gateway], to: [wiki], ports: [tcp/8080]}
        - {id: ACC-2, from: [gateway], to: [web], ports: [tcp/8080]}
        - {id: DB-1, from: [web], to: [db], ports: [tcp/5432]}
      exceptions:
        - {id: EXC-1, from: [staff], to: [web], ports: [tcp/22], owner: cto@firm.example,
           expires: 2026-06-30}
"""


def firm(extra: str = "") -> Segmentation:
    """The small firm's model, with ``extra`` YAML documents merged in."""
    return build(parse_text(FIRM + extra, "<firm>"))


def user(name: str, *groups: str, mfa: tuple[str, ...] = ("totp", "passkey")) -> UserFacts:
    return UserFacts(
        username=name,
        groups=frozenset(groups),
        disabled=False,
        created_at=AT - timedelta(days=400),
        mfa=frozenset(mfa),  # type: ignore[arg-type]
        last_sign_in=AT - timedelta(days=1),
    )


STRONG = RuleFacts(
    name="finance",
    effect="allow",
    groups=frozenset({"finance"}),
    mfa=True,
    mfa_methods=frozenset({"webauthn"}),
    mfa_max_age=timedelta(minutes=10),
    attributes=frozenset({"device", "place"}),
    device_trust="managed",
    refuses_risk=True,
)
ADMIN = replace(STRONG, name="admins", groups=frozenset({"admins"}))
VENDOR = replace(STRONG, name="vendor", groups=frozenset({"contractors"}))
PARTNER = replace(STRONG, name="partner", groups=frozenset({"partner-bank"}))


@dataclass
class FakeSources:
    """Every source as a field; ``broken`` sources raise ``RuntimeError``."""

    users_: list[UserFacts] = field(
        default_factory=lambda: [
            user("alice", "finance"),
            user("mei", "admins"),
            user("bob", "contractors"),
            user("ken", "partner-bank"),
        ]
    )
    groups_: list[GroupFacts] = field(
        default_factory=lambda: [
            GroupFacts("finance", True),
            GroupFacts("admins", True),
            GroupFacts("contractors", True),
            GroupFacts("partner-bank", True),
        ]
    )
    apps_: list[AppFacts] = field(
        default_factory=lambda: [
            AppFacts("settlement", "restricted", ("data store ledger",), (STRONG, VENDOR)),
            AppFacts("console", "confidential", ("app label",), (ADMIN,)),
            AppFacts("partner-api", "internal", (), (PARTNER,)),
        ]
    )
    session_: SessionFacts = field(
        default_factory=lambda: SessionFacts(timedelta(minutes=15), timedelta(hours=8))
    )
    listeners_: list[ListenerFacts] = field(
        default_factory=lambda: [ListenerFacts("0.0.0.0:443", True, False)]
    )
    lockout_: LockoutFacts = field(
        default_factory=lambda: LockoutFacts(
            tuple(timedelta(0) if n < 5 else timedelta(minutes=30) for n in range(1, 11)),
            timedelta(minutes=15),
        )
    )
    passwords_: PasswordFacts = field(
        default_factory=lambda: PasswordFacts(12, "argon2id", 19456, 2)
    )
    devices_: list[DeviceFacts] = field(
        default_factory=lambda: [DeviceFacts("d1", "alice", "managed", "managed")]
    )
    posture_: PostureFacts = field(
        default_factory=lambda: PostureFacts(True, True, timedelta(hours=24))
    )
    providers_: list[ProviderFacts] = field(
        default_factory=lambda: [ProviderFacts("entra", timedelta(minutes=5))]
    )
    seg: Segmentation | None = field(default_factory=firm)
    observed: list[ObservedFlow] | None = field(
        default_factory=lambda: [ObservedFlow("settle-web", "settle-db", 5432)]
    )
    chain: ChainFacts = field(default_factory=lambda: ChainFacts(True, 120))
    actions: list[AdminAction] = field(
        default_factory=lambda: [
            AdminAction(AT - timedelta(days=2), "mei", "admin.change", "session", True)
        ]
    )
    access: AccessLogFacts = field(
        default_factory=lambda: AccessLogFacts(frozenset({"s1"}), frozenset({"s1"}), 40)
    )
    monitor_: MonitorFacts = field(
        default_factory=lambda: MonitorFacts(
            True,
            12,
            False,
            (PlaybookFacts("revoke", ("revoke_sessions",), ("oncall",)),),
            ("oncall",),
        )
    )
    incidents_: list[IncidentFacts] = field(
        default_factory=lambda: [
            IncidentFacts(
                "i1",
                AT - timedelta(days=3, minutes=5),
                AT - timedelta(days=3),
                AT - timedelta(days=3) + timedelta(minutes=2),
            )
        ]
    )
    clients: list[ClientFacts] | None = field(
        default_factory=lambda: [
            ClientFacts(
                "bank-a",
                "ops",
                credentials=(
                    CredentialFacts(
                        "c1", "secret", AT - timedelta(days=10), AT + timedelta(days=80)
                    ),
                ),
            )
        ]
    )
    tests: PolicyTestFacts = field(default_factory=lambda: PolicyTestFacts(6))
    broken: frozenset[str] = frozenset()

    def _check(self, name: str) -> None:
        if name in self.broken:
            raise RuntimeError(f"source {name} is down")

    def users(self) -> Sequence[UserFacts]:
        self._check("users")
        return self.users_

    def groups(self) -> Sequence[GroupFacts]:
        self._check("groups")
        return self.groups_

    def apps(self) -> Sequence[AppFacts]:
        self._check("apps")
        return self.apps_

    def sessions(self) -> SessionFacts:
        self._check("sessions")
        return self.session_

    def listeners(self) -> Sequence[ListenerFacts]:
        self._check("listeners")
        return self.listeners_

    def lockout(self) -> LockoutFacts:
        self._check("lockout")
        return self.lockout_

    def passwords(self) -> PasswordFacts:
        self._check("passwords")
        return self.passwords_

    def devices(self, at: datetime) -> Sequence[DeviceFacts]:
        self._check("devices")
        return self.devices_

    def posture(self) -> PostureFacts:
        self._check("posture")
        return self.posture_

    def providers(self) -> Sequence[ProviderFacts]:
        self._check("providers")
        return self.providers_

    def segmentation(self) -> Segmentation | None:
        self._check("segmentation")
        return self.seg

    def observed_flows(self) -> Sequence[ObservedFlow] | None:
        self._check("observed_flows")
        return self.observed

    def audit_chain(self) -> ChainFacts:
        self._check("audit")
        return self.chain

    def admin_actions(self, start: datetime, end: datetime) -> Sequence[AdminAction]:
        self._check("audit")
        return [a for a in self.actions if start <= a.at <= end]

    def access_log(self, start: datetime, end: datetime) -> AccessLogFacts:
        self._check("audit")
        return self.access

    def monitor(self) -> MonitorFacts:
        self._check("monitor")
        return self.monitor_

    def incidents(self, start: datetime, end: datetime) -> Sequence[IncidentFacts]:
        self._check("incidents")
        return [i for i in self.incidents_ if start <= i.detected_at < end]

    def machine_clients(self) -> Sequence[ClientFacts] | None:
        self._check("machine_clients")
        return self.clients

    def policy_tests(self, at: datetime) -> PolicyTestFacts:
        self._check("policy_tests")
        return self.tests
