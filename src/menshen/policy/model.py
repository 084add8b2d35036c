"""Values of the policy engine: who asks, for what, and what the answer is.

The vocabulary is NIST SP 800-207 §3: the gateway (policy enforcement point) builds an
``AccessRequest`` for every request and the policy engine answers with a ``Decision``.
Everything here is plain data: no I/O, no clock, no store. The condition language
itself lives in ``menshen.policy.conditions``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from menshen.policy.conditions import Condition

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SubjectKind = Literal["user", "client"]


class EmptyMapping(Mapping[str, Any]):
    """An immutable, hashable empty mapping: a safe dataclass default."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0


NO_HEADERS: Mapping[str, str] = EmptyMapping()
NO_POSTURE: Mapping[str, str | int | float | bool] = EmptyMapping()


@dataclass(frozen=True, slots=True)
class Subject:
    """The signed-in person, or (``kind="client"``) a machine client such as a partner bank."""

    user_id: str
    username: str
    email: str
    groups: frozenset[str]
    kind: SubjectKind = "user"


@dataclass(frozen=True, slots=True)
class Device:
    """The device a request came from, as the device registry knows it.

    ``trust`` is one of ``conditions.TRUST_LEVELS``; ``posture`` holds attributes the
    device reported or the MDM vouched for (``diskEncrypted: true``, ``os: macos``).
    """

    id: str
    trust: str = "unknown"
    tags: frozenset[str] = frozenset()
    posture: Mapping[str, str | int | float | bool] = NO_POSTURE


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """One request as the policy sees it.

    ``path`` is already canonical (see ``menshen.gateway.paths``): the policy never decodes
    it, so that it judges exactly the bytes the upstream receives. ``subject`` is None for
    an anonymous request. ``mfa_at`` is when the session last completed a second factor.
    ``headers`` have lower-case names; ``country`` is an ISO 3166 alpha-2 code from geo-IP;
    ``scopes`` are the OAuth scopes of a machine client's token; ``risk`` is 0–100.
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
    device: Device | None = None
    country: str | None = None
    headers: Mapping[str, str] = NO_HEADERS
    scopes: frozenset[str] = frozenset()


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    STEP_UP = "step_up"


class Outcome(StrEnum):
    """How one rule fared against one request."""

    MATCHED = "matched"
    NOT_MATCHED = "not_matched"
    NEEDS_STEP_UP = "needs_step_up"


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule considered for a request: did it match, and if not, what failed (in words)."""

    rule: str
    rule_id: str
    effect: Effect
    outcome: Outcome
    failed: str | None = None
    description: str = ""
    owner: str = ""

    def __str__(self) -> str:
        if self.outcome is Outcome.MATCHED:
            return f"{self.effect.value} rule '{self.rule}': matches"
        if self.outcome is Outcome.NEEDS_STEP_UP:
            return f"{self.effect.value} rule '{self.rule}': matches, but {self.failed}"
        return f"{self.effect.value} rule '{self.rule}': no match: {self.failed}"


Trace = Callable[[], tuple[RuleTrace, ...]]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: an effect, the rule that produced it (if any), and reasons for people.

    ``reasons`` are sentences an end user may read on the "why was I denied" page.
    ``considered`` lists every rule of the app with what failed; it is computed only when
    read (and only denials and step-ups carry it), so allowing stays fast.
    """

    effect: Effect
    rule: str | None
    reasons: tuple[str, ...] = ()
    rule_id: str | None = field(default=None, compare=False)
    trace: Trace | None = field(default=None, compare=False, repr=False)

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOW

    @property
    def considered(self) -> tuple[RuleTrace, ...]:
        return () if self.trace is None else self.trace()


@dataclass(frozen=True, slots=True)
class Rule:
    """One allow, deny or step-up rule of an app's policy.

    Empty ``users``, ``groups`` and ``clients`` mean any signed-in subject; empty
    ``methods``, ``path_prefixes``, ``source_networks`` and ``scopes`` mean any.
    ``mfa_*`` only make sense on allow and step-up rules (a max age or methods imply MFA);
    a step-up rule must carry them. ``when`` is the rule's condition. ``rule_id`` is
    stable across edits: explicit, or the rule's (qualified) name.
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
    mfa_methods: frozenset[str] = frozenset()
    clients: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    when: Condition | None = None
    rule_id: str | None = None
    description: str = ""
    owner: str = ""

    @property
    def id(self) -> str:
        return self.rule_id or self.name


@dataclass(frozen=True, slots=True)
class DataLabel:
    """Data sensitivity of a resource: a level and tags such as ``pii`` or ``card-data``."""

    sensitivity: str = "internal"
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ResourceLabel:
    """A label for the paths under ``path_prefixes`` of an app (the longest prefix wins)."""

    path_prefixes: tuple[str, ...]
    label: DataLabel


@dataclass(frozen=True, slots=True)
class AppPolicy:
    """The ordered rules that govern one app, with the named blocks and lists they use."""

    app: str
    rules: tuple[Rule, ...] = field(default=())
    conditions: Mapping[str, Condition] = field(default_factory=dict)
    ip_lists: Mapping[str, tuple[Network, ...]] = field(default_factory=dict)
    resources: tuple[ResourceLabel, ...] = ()
    name: str = ""
