"""The values continuous monitoring passes around (NIST SP 800-207 §2.1 tenet 7, §3.3).

Every source — the gateway's own access and sign-in events, JSON lines, syslog, log files,
Windows and OCSF records, the LANL research data — is first mapped to one ``ObservedEvent``.
Baselines learn from those events, detectors turn them into ``Finding`` values about an
``Entity`` (a user, a machine client, a device, a source network, a host), the risk engine
folds findings into a score, and playbooks act on findings and scores. All of them are
frozen values: the pure parts take and return these, the I/O lives at the edges.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum

from menshen.errors import InvalidInput

__all__ = [
    "Category",
    "Entity",
    "EntityKind",
    "EventOutcome",
    "EvidenceValue",
    "Finding",
    "ObservedEvent",
    "Severity",
]

EvidenceValue = str | int | float | bool


class Category(StrEnum):
    """What kind of thing happened (the OCSF class families menshen cares about)."""

    AUTHENTICATION = "authentication"  # a logon, logoff, ticket, password check
    MFA = "mfa"  # a second-factor challenge or answer
    ACCESS = "access"  # a request to an app or API, allowed or denied
    SESSION = "session"  # a session created, rotated, revoked
    TRANSFER = "transfer"  # bytes moved for a session over a period


class EventOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, init=False)
class ObservedEvent:
    """One normalised event. ``at`` is timezone-aware UTC; unknown fields are None.

    ``event_id`` is unique per source (the audit event id for gateway events, a line number
    or record id for ingested ones) so a finding can name the events behind it.
    ``src_host``/``dst_host`` are computer names (Windows/LANL logons); ``app`` and
    ``resource`` are the gateway app and path; ``bytes_out`` counts bytes sent to the client.

    Built once per event on the hot path (``make bench-monitor``), so ``__init__`` is written
    out: it checks, then fills the slots through their descriptors (``_SET_*``), which costs
    about half of the generated frozen ``__init__`` (``object.__setattr__`` per field).
    """

    tenant_id: str
    at: datetime
    source: str
    event_id: str
    category: Category
    action: str
    outcome: EventOutcome = EventOutcome.UNKNOWN
    user: str | None = None
    client_id: str | None = None
    device_id: str | None = None
    session_id: str | None = None
    src_ip: str | None = None
    src_host: str | None = None
    dst_host: str | None = None
    app: str | None = None
    resource: str | None = None
    user_agent: str | None = None
    bytes_out: int = 0
    auth_type: str | None = None
    logon_type: str | None = None
    is_mfa: bool | None = None

    def __init__(
        self,
        tenant_id: str,
        at: datetime,
        source: str,
        event_id: str,
        category: Category,
        action: str,
        outcome: EventOutcome = EventOutcome.UNKNOWN,
        user: str | None = None,
        client_id: str | None = None,
        device_id: str | None = None,
        session_id: str | None = None,
        src_ip: str | None = None,
        src_host: str | None = None,
        dst_host: str | None = None,
        app: str | None = None,
        resource: str | None = None,
        user_agent: str | None = None,
        bytes_out: int = 0,
        auth_type: str | None = None,
        logon_type: str | None = None,
        is_mfa: bool | None = None,
    ) -> None:
        zone = at.tzinfo
        if zone is not UTC and (zone is None or at.utcoffset() is None):
            raise InvalidInput("an observed event's time must be timezone-aware")
        if bytes_out < 0:
            raise InvalidInput("bytes_out cannot be negative")
        if not tenant_id or not source or not event_id or not action:
            raise InvalidInput("tenant_id, source, event_id and action are required")
        _SET_TENANT_ID(self, tenant_id)
        _SET_AT(self, at)
        _SET_SOURCE(self, source)
        _SET_EVENT_ID(self, event_id)
        _SET_CATEGORY(self, category)
        _SET_ACTION(self, action)
        _SET_OUTCOME(self, outcome)
        _SET_USER(self, user)
        _SET_CLIENT_ID(self, client_id)
        _SET_DEVICE_ID(self, device_id)
        _SET_SESSION_ID(self, session_id)
        _SET_SRC_IP(self, src_ip)
        _SET_SRC_HOST(self, src_host)
        _SET_DST_HOST(self, dst_host)
        _SET_APP(self, app)
        _SET_RESOURCE(self, resource)
        _SET_USER_AGENT(self, user_agent)
        _SET_BYTES_OUT(self, bytes_out)
        _SET_AUTH_TYPE(self, auth_type)
        _SET_LOGON_TYPE(self, logon_type)
        _SET_IS_MFA(self, is_mfa)


def _slot(name: str) -> Callable[[ObservedEvent, object], None]:
    """The slot's own setter (bypasses the frozen ``__setattr__``; for ``__init__`` only)."""
    setter: Callable[[ObservedEvent, object], None] = ObservedEvent.__dict__[name].__set__
    return setter


_SET_TENANT_ID = _slot("tenant_id")
_SET_AT = _slot("at")
_SET_SOURCE = _slot("source")
_SET_EVENT_ID = _slot("event_id")
_SET_CATEGORY = _slot("category")
_SET_ACTION = _slot("action")
_SET_OUTCOME = _slot("outcome")
_SET_USER = _slot("user")
_SET_CLIENT_ID = _slot("client_id")
_SET_DEVICE_ID = _slot("device_id")
_SET_SESSION_ID = _slot("session_id")
_SET_SRC_IP = _slot("src_ip")
_SET_SRC_HOST = _slot("src_host")
_SET_DST_HOST = _slot("dst_host")
_SET_APP = _slot("app")
_SET_RESOURCE = _slot("resource")
_SET_USER_AGENT = _slot("user_agent")
_SET_BYTES_OUT = _slot("bytes_out")
_SET_AUTH_TYPE = _slot("auth_type")
_SET_LOGON_TYPE = _slot("logon_type")
_SET_IS_MFA = _slot("is_mfa")


class EntityKind(StrEnum):
    USER = "user"
    CLIENT = "client"  # a machine identity (OAuth2 client, API key)
    DEVICE = "device"
    NETWORK = "network"  # a source address or prefix
    HOST = "host"  # a computer (Windows/LANL source or destination)


@dataclass(frozen=True, slots=True, order=True)
class Entity:
    """Who or what a baseline, finding or risk score is about."""

    kind: EntityKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


class Severity(IntEnum):
    """How bad a finding would be if true (Entra ID Protection's low/medium/high, plus
    critical for what a playbook should act on at once)."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's statement about ``subject`` at ``at``: how bad (``severity``), how sure
    (``confidence`` in [0, 1]), a one-line ``summary`` a human reads, and the ``evidence``
    (baseline figures, distances, counts) that explains it."""

    tenant_id: str
    detector: str
    subject: Entity
    at: datetime
    severity: Severity
    confidence: float
    summary: str
    evidence: Mapping[str, EvidenceValue] = field(default_factory=dict)
    event_ids: tuple[str, ...] = ()
    source_ip: str | None = None
    session_id: str | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= self.confidence <= 1.0) or math.isnan(self.confidence):
            raise InvalidInput("a finding's confidence lies in [0, 1]")
        if self.at.tzinfo is None:
            raise InvalidInput("a finding's time must be timezone-aware")
        if not self.detector or not self.summary:
            raise InvalidInput("a finding names its detector and says what it found")
