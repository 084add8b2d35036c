"""What evidence collectors may read: the live system as plain values (NIST SP 800-207 §3,
the policy information points; NIST SP 800-137 continuous monitoring of those points).

``EvidenceSources`` is the seam: ``menshen.compliance.live.LiveSources`` reads one tenant's
store and settings; tests hand collectors a small fake. Every method returns frozen values
(never a store record or a connection) and may raise: ``collect_all`` then marks the checks
that asked as not assessed, with the error. ``None`` from a method means "this part of the
system is not there" (no machine-client registry, no observed flows), which a collector
reports as not assessed with that reason, never as a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from menshen.inventory.model import ObservedFlow
from menshen.segmentation.resolve import Segmentation
from menshen.settings_compliance import ComplianceOptions

__all__ = [
    "SENSITIVE",
    "AccessLogFacts",
    "AdminAction",
    "AppFacts",
    "ChainFacts",
    "ClientFacts",
    "CollectContext",
    "CredentialFacts",
    "DeviceFacts",
    "EvidenceSources",
    "GroupFacts",
    "IncidentFacts",
    "ListenerFacts",
    "LockoutFacts",
    "MonitorFacts",
    "PasswordFacts",
    "PlaybookFacts",
    "PolicyTestFacts",
    "PostureFacts",
    "ProviderFacts",
    "RuleFacts",
    "SessionFacts",
    "UserFacts",
]

SENSITIVE = frozenset({"confidential", "restricted"})
"""Sensitivity levels that make an app or store hold "restricted data" in the checks."""

MfaKind = Literal["totp", "passkey", "sso"]
Attribute = Literal["device", "time", "place", "risk"]


@dataclass(frozen=True, slots=True)
class CollectContext:
    """When evidence is taken, over which period, for which firm and by which limits."""

    tenant_id: str
    at: datetime
    period_start: datetime
    options: ComplianceOptions = field(default_factory=ComplianceOptions)

    @classmethod
    def last_days(
        cls, tenant_id: str, at: datetime, options: ComplianceOptions, days: int = 30
    ) -> CollectContext:
        return cls(tenant_id, at, at - timedelta(days=days), options)


@dataclass(frozen=True, slots=True)
class UserFacts:
    """A person: ``mfa`` the second factors in use (TOTP confirmed, a live passkey, or a
    sign-in through the firm's provider that asserted MFA); ``hashing`` the password scheme
    (``argon2id``, ``none`` for SSO-only people, ``other`` for anything else)."""

    username: str
    groups: frozenset[str]
    disabled: bool
    created_at: datetime
    mfa: frozenset[MfaKind] = frozenset()
    last_sign_in: datetime | None = None
    hashing: Literal["argon2id", "none", "other"] = "argon2id"


@dataclass(frozen=True, slots=True)
class GroupFacts:
    name: str
    mfa_required: bool


@dataclass(frozen=True, slots=True)
class RuleFacts:
    """An app's rule as the checks need it. ``attributes`` are the per-request attributes its
    condition tests (``device``, ``time``, ``place``, ``risk``); ``device_trust`` the least
    device trust it demands; ``refuses_risk`` that it refuses or steps up on high risk (a
    deny/step-up on risk above a limit, or an allow only below one)."""

    name: str
    effect: Literal["allow", "deny", "step_up"]
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    clients: frozenset[str] = frozenset()
    mfa: bool = False
    mfa_methods: frozenset[str] = frozenset()
    mfa_max_age: timedelta | None = None
    attributes: frozenset[Attribute] = frozenset()
    device_trust: str | None = None
    refuses_risk: bool = False

    @property
    def any_identity(self) -> bool:
        return not (self.users or self.groups or self.clients)

    @property
    def for_people(self) -> bool:
        """Whether people (not only machine clients) can match it."""
        return bool(self.users or self.groups) or self.any_identity


@dataclass(frozen=True, slots=True)
class AppFacts:
    """An app behind the gateway: its data sensitivity (the highest of its own label and the
    inventory's stores and flows behind it, with ``basis`` saying which) and its rules."""

    name: str
    sensitivity: str = "internal"
    basis: tuple[str, ...] = ()
    rules: tuple[RuleFacts, ...] = ()

    @property
    def sensitive(self) -> bool:
        return self.sensitivity in SENSITIVE

    @property
    def has_policy(self) -> bool:
        return bool(self.rules)

    def allows(self) -> tuple[RuleFacts, ...]:
        """The allow rules people can match."""
        return tuple(r for r in self.rules if r.effect == "allow" and r.for_people)


@dataclass(frozen=True, slots=True)
class SessionFacts:
    idle_timeout: timedelta
    absolute_timeout: timedelta


@dataclass(frozen=True, slots=True)
class ListenerFacts:
    address: str
    tls: bool
    loopback: bool


@dataclass(frozen=True, slots=True)
class LockoutFacts:
    """The account lockout: ``locks[n-1]`` is how long the n-th failure in a row locks the
    account (zero: not locked), for n = 1..10."""

    locks: tuple[timedelta, ...]
    window: timedelta


@dataclass(frozen=True, slots=True)
class PasswordFacts:
    min_chars: int
    algorithm: str
    memory_kib: int
    time_cost: int


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """An enrolled device: ``approved`` the trust an admin vouched for, ``trust`` the trust
    the policy sees now (after the posture rules)."""

    id: str
    owner: str
    approved: str
    trust: str
    revoked: bool = False
    reported_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PostureFacts:
    require_disk_encryption: bool
    require_screen_lock: bool
    max_report_age: timedelta


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    name: str
    recheck_interval: timedelta


@dataclass(frozen=True, slots=True)
class ChainFacts:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AdminAction:
    """An administrative change in the audit log. ``via`` is ``session`` (the console, with
    ``mfa`` from its session), ``cli`` (the server's command line) or ``other``."""

    at: datetime
    actor: str
    kind: str
    via: Literal["session", "cli", "other"]
    mfa: bool | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AccessLogFacts:
    """Sessions used in the period (from the session store) and the sessions the audit log
    has access decisions for; ``decisions`` counts those decisions."""

    sessions_used: frozenset[str]
    sessions_logged: frozenset[str]
    decisions: int


@dataclass(frozen=True, slots=True)
class PlaybookFacts:
    name: str
    actions: tuple[str, ...]
    notify: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MonitorFacts:
    engine: bool
    baselines: int
    observe_only: bool
    playbooks: tuple[PlaybookFacts, ...] = ()
    notifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    id: str
    first_event_at: datetime
    detected_at: datetime
    responded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CredentialFacts:
    id: str
    kind: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class ClientFacts:
    name: str
    owner: str
    suspended: bool = False
    credentials: tuple[CredentialFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyTestFacts:
    """Stored PolicyTest cases run against the active policy: how many, which failed."""

    cases: int
    failed: tuple[str, ...] = ()


class EvidenceSources(Protocol):
    """The live system, read-only, for one tenant."""

    def users(self) -> Sequence[UserFacts]: ...
    def groups(self) -> Sequence[GroupFacts]: ...
    def apps(self) -> Sequence[AppFacts]: ...
    def sessions(self) -> SessionFacts: ...
    def listeners(self) -> Sequence[ListenerFacts]: ...
    def lockout(self) -> LockoutFacts: ...
    def passwords(self) -> PasswordFacts: ...
    def devices(self, at: datetime) -> Sequence[DeviceFacts]: ...
    def posture(self) -> PostureFacts: ...
    def providers(self) -> Sequence[ProviderFacts]: ...
    def segmentation(self) -> Segmentation | None: ...  # None: no inventory stored
    def observed_flows(self) -> Sequence[ObservedFlow] | None: ...  # None: none supplied
    def audit_chain(self) -> ChainFacts: ...
    def admin_actions(self, start: datetime, end: datetime) -> Sequence[AdminAction]: ...
    def access_log(self, start: datetime, end: datetime) -> AccessLogFacts: ...
    def monitor(self) -> MonitorFacts: ...
    def incidents(self, start: datetime, end: datetime) -> Sequence[IncidentFacts]: ...
    def machine_clients(self) -> Sequence[ClientFacts] | None: ...  # None: no registry
    def policy_tests(self, at: datetime) -> PolicyTestFacts: ...
