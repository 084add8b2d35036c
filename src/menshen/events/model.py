"""The audit event: one thing that happened, as the gateway, console and monitor report it.

Event kinds are dotted lower-case names (``access.allow``, ``login.failure``); the catalogue
below lists the ones menshen emits. NIST SP 800-207 §3 (the PEP/PA report every decision) and
NIST SP 800-92 §2 (log content: what, when, who, where, outcome).
"""

from __future__ import annotations

import itertools
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from menshen.errors import InvalidInput

EventIdSource = Callable[[], str]


def new_event_id() -> str:
    """A random event id (uuid4, 32 hex digits)."""
    return uuid.uuid4().hex


class SequentialEventIds:
    """Event ids for the request path: a random 64-bit prefix per source, then a counter.

    As unique as uuid4 ids across processes (the prefix is random) and within one (the
    counter), without a ``getrandom`` system call per event, which cost a tenth of the
    gateway's time per request when profiled (docs/benchmarks.md).
    """

    __slots__ = ("_counter", "_prefix")

    def __init__(self, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> None:
        self._prefix = random_bytes(8).hex()
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


class Kind:
    """The event kinds menshen emits. Other dotted names are allowed for extensions."""

    ACCESS_ALLOW: Final = "access.allow"
    ACCESS_DENY: Final = "access.deny"
    ACCESS_STEP_UP: Final = "access.step_up"
    LOGIN_SUCCESS: Final = "login.success"
    LOGIN_FAILURE: Final = "login.failure"
    MFA_SUCCESS: Final = "mfa.success"
    MFA_FAILURE: Final = "mfa.failure"
    LOGOUT: Final = "logout"
    SESSION_REVOKED: Final = "session.revoked"
    ADMIN_CHANGE: Final = "admin.change"
    ATTACK_BLOCKED: Final = "attack.blocked"
    POLICY_SHADOW_DISAGREEMENT: Final = "policy.shadow_disagreement"


class Outcome:
    SUCCESS: Final = "success"
    FAILURE: Final = "failure"
    ALLOW: Final = "allow"
    DENY: Final = "deny"
    STEP_UP: Final = "step_up"


_NAME = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_MAX_KIND = 64
_MAX_OUTCOME = 32
_MAX_ID = 128


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Something that happened in one tenant.

    ``at`` is an aware datetime (stored in UTC). ``actor`` is who acted (a user id,
    ``system``, ``monitor``); ``subject`` who or what it was done to. ``details`` holds
    JSON-compatible values; anything else is written as its ``str()``.
    """

    tenant_id: str
    kind: str
    outcome: str
    at: datetime
    actor: str | None = None
    subject: str | None = None
    app: str | None = None
    ip: str | None = None
    session_id: str | None = None
    reason: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)
    id: str = field(default_factory=new_event_id)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise InvalidInput("event time must be timezone-aware")
        for label, value, limit in (
            ("kind", self.kind, _MAX_KIND),
            ("outcome", self.outcome, _MAX_OUTCOME),
        ):
            if len(value) > limit or _NAME.fullmatch(value) is None:
                raise InvalidInput(f"event {label} must be a dotted lower-case name: {value!r}")
        if not 0 < len(self.tenant_id) <= _MAX_ID or not 0 < len(self.id) <= _MAX_ID:
            raise InvalidInput("event needs a tenant id and an id of at most 128 characters")
