"""Values of the policy engine: who asks, for what, and what the answer is.

The vocabulary is NIST SP 800-207 §3: the gateway (policy enforcement point) builds an
``AccessRequest`` for every request and the policy engine answers with a ``Decision``.
Everything here is plain data: no I/O, no clock, no store.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Subject:
    """The signed-in person (or machine client) making the request."""

    user_id: str
    username: str
    email: str
    groups: frozenset[str]


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """One request as the policy sees it.

    ``path`` is already canonical (see ``menshen.gateway.paths``): the policy never decodes
    it, so that it judges exactly the bytes the upstream receives. ``subject`` is None for
    an anonymous request. ``mfa_at`` is when the session last completed a second factor.
    """

    tenant_id: str
    app: str
    method: str
    path: str
    source_ip: str
    now: datetime
    subject: Subject | None
    mfa_method: str | None
    mfa_at: datetime | None
    risk: float = 0.0


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    STEP_UP = "step_up"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: an effect, the rule that produced it (if any), and reasons for people.

    ``reasons`` are sentences an end user may read on the "why was I denied" page.
    """

    effect: Effect
    rule: str | None
    reasons: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOW


@dataclass(frozen=True, slots=True)
class Rule:
    """One allow or deny rule of an app's policy.

    Empty ``users`` and ``groups`` mean any signed-in user; empty ``methods``,
    ``path_prefixes`` and ``source_networks`` mean any. ``mfa_required`` and
    ``mfa_max_age`` only make sense on allow rules (a ``mfa_max_age`` implies MFA).
    """

    name: str
    effect: Effect = Effect.ALLOW
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    methods: frozenset[str] = frozenset()
    path_prefixes: tuple[str, ...] = ()
    source_networks: tuple[Network, ...] = ()
    mfa_required: bool = False
    mfa_max_age: timedelta | None = None


@dataclass(frozen=True, slots=True)
class AppPolicy:
    """The ordered rules that govern one app."""

    app: str
    rules: tuple[Rule, ...] = field(default=())
