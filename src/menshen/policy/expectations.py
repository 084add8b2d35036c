"""Policy tests: expected decisions a firm keeps next to its policy and runs in CI.

Like unit tests for code (and Cedar's or OPA's policy tests), each case states a request
and the decision the policy must give: ``{user: bob, app: settlement, path: /payouts,
expect: deny}``. Cases are the ``spec`` of ``kind: PolicyTest`` documents (docs/policy.md,
"Testing policies"); this module validates a spec, builds the requests and runs them
against a compiled policy, with the explain trace of every failure. Times are ISO 8601
with an offset; durations as in the policy language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from menshen.policy.compile import CompiledPolicy
from menshen.policy.duration import parse_duration
from menshen.policy.explain import explain
from menshen.policy.model import NO_HEADERS, AccessRequest, Decision, Device, Effect, Subject

DEFAULT_IP = "192.0.2.1"
"""A documentation address (RFC 5737): in no network a real policy names."""

Loc = tuple[str | int, ...]


class ExpectationProblem(ValueError):
    """A problem at ``loc`` inside a PolicyTest ``spec``, with what is expected."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DeviceSchema(_Schema):
    trust: Literal["unknown", "registered", "managed", "compliant"] = "registered"
    tags: list[str] = []
    posture: dict[str, str | bool | int | float] = {}


class CaseSchema(_Schema):
    name: str = ""
    user: str | None = None
    client: str | None = None
    groups: list[str] | None = None
    app: str
    path: str = "/"
    method: str = Field("GET", pattern=r"^[A-Za-z]{1,20}$")
    ip: str = DEFAULT_IP
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    mfa: Literal["none", "totp", "webauthn", "recovery_code"] = "none"
    mfaAge: str | None = None
    device: DeviceSchema | None = None
    risk: float = Field(0.0, ge=0, le=100)
    headers: dict[str, str] = {}
    scopes: list[str] = []
    at: datetime | str | None = None
    expect: Literal["allow", "deny", "step_up"]
    rule: str | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> CaseSchema:
        if self.user is not None and self.client is not None:
            raise ValueError("give user or client, not both")
        if self.user is None and self.client is None and self.groups is None:
            raise ValueError("give user, client or groups (a hypothetical person)")
        if self.mfaAge is not None:
            if self.mfa == "none":
                raise ValueError("mfaAge needs mfa (totp, webauthn or recovery_code)")
            parse_duration(self.mfaAge)
        return self


class SpecSchema(_Schema):
    at: datetime | str | None = None
    cases: list[CaseSchema] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Expectation:
    """One case: who asks for what, and what the policy must answer.

    ``groups`` None means "the user's groups from the directory". ``at`` None means the
    time the tests run. ``rule``, when given, must name the deciding rule (name or id).
    ``where`` locates the case for reports (``file:line``).
    """

    name: str
    kind: Literal["user", "client"]
    username: str
    groups: frozenset[str] | None
    app: str
    expect: Effect
    path: str = "/"
    method: str = "GET"
    ip: str = DEFAULT_IP
    country: str | None = None
    mfa: str | None = None
    mfa_age: timedelta = timedelta(0)
    device: Device | None = None
    risk: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    scopes: frozenset[str] = frozenset()
    at: datetime | None = None
    rule: str | None = None
    where: str = ""

    def title(self) -> str:
        who = self.username or "someone in " + (", ".join(sorted(self.groups or ())) or "no group")
        return self.name or f"{who} {self.method} {self.app}{self.path} → {self.expect.value}"


def _time(value: datetime | str | None, loc: Loc) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ExpectationProblem(loc, f"{value!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise ExpectationProblem(loc, "give the time with its offset (2026-01-06T10:00+08:00)")
    return value


def parse_expectations(
    body: Any, where: Callable[[Loc], str] = lambda loc: ""
) -> tuple[Expectation, ...]:
    """The cases of a PolicyTest ``spec``; raises ``ExpectationProblem`` at the first error.

    ``where`` turns a location inside the spec into ``file:line`` for the reports.
    """
    try:
        spec = SpecSchema.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        raise ExpectationProblem(tuple(first["loc"]), message) from None
    default_at = _time(spec.at, ("at",))
    found: list[Expectation] = []
    for index, case in enumerate(spec.cases):
        loc: Loc = ("cases", index)
        if not case.path.startswith("/"):
            raise ExpectationProblem((*loc, "path"), f"path {case.path!r} must start with '/'")
        device = None
        if case.device is not None:
            device = Device(
                f"test-device-{index}",
                case.device.trust,
                frozenset(case.device.tags),
                dict(case.device.posture),
            )
        found.append(
            Expectation(
                name=case.name,
                kind="client" if case.client is not None else "user",
                username=case.client or case.user or "",
                groups=None if case.groups is None else frozenset(case.groups),
                app=case.app,
                expect=Effect(case.expect),
                path=case.path,
                method=case.method.upper(),
                ip=case.ip,
                country=case.country,
                mfa=None if case.mfa == "none" else case.mfa,
                mfa_age=timedelta(0) if case.mfaAge is None else parse_duration(case.mfaAge),
                device=device,
                risk=case.risk,
                headers={key.lower(): value for key, value in case.headers.items()},
                scopes=frozenset(case.scopes),
                at=_time(case.at, (*loc, "at")) or default_at,
                rule=case.rule,
                where=where(loc),
            )
        )
    return tuple(found)


def access_request(
    tenant_id: str, case: Expectation, groups: frozenset[str], now: datetime
) -> AccessRequest:
    """The request a case describes; ``groups`` are the subject's, ``now`` its default time."""
    at = case.at or now
    subject = Subject(f"{case.kind}:{case.username}", case.username, "", groups, case.kind)
    return AccessRequest(
        tenant_id=tenant_id,
        app=case.app,
        method=case.method,
        path=case.path,
        source_ip=case.ip,
        now=at,
        subject=subject,
        mfa_method=case.mfa,
        mfa_at=None if case.mfa is None else at - case.mfa_age,
        risk=case.risk,
        device=case.device,
        country=case.country,
        headers=dict(case.headers) if case.headers else NO_HEADERS,
        scopes=case.scopes,
    )


@dataclass(frozen=True, slots=True)
class CaseResult:
    """A case run: the decision, whether it was the expected one, and (if not) the trace."""

    expectation: Expectation
    decision: Decision
    passed: bool
    explanation: tuple[str, ...] = ()


def run_expectations(
    compiled: CompiledPolicy,
    cases: tuple[Expectation, ...],
    *,
    now: datetime,
    directory: Mapping[str, frozenset[str]] | None = None,
) -> tuple[CaseResult, ...]:
    """Decide every case; ``directory`` gives users' groups when a case does not."""
    results: list[CaseResult] = []
    for case in cases:
        groups = case.groups
        if groups is None:
            groups = (directory or {}).get(case.username, frozenset())
        request = access_request(compiled.tenant_id, case, groups, now)
        decision = compiled.decide(request)
        passed = decision.effect is case.expect and (
            case.rule is None or case.rule in (decision.rule, decision.rule_id)
        )
        lines = () if passed else tuple(explain(compiled, request))
        results.append(CaseResult(case, decision, passed, lines))
    return tuple(results)


__all__ = [
    "DEFAULT_IP",
    "CaseResult",
    "Expectation",
    "ExpectationProblem",
    "access_request",
    "parse_expectations",
    "run_expectations",
]
