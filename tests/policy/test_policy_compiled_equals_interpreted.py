"""The compiled policy answers exactly as a plain, obviously-correct interpreter would."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from menshen.policy import AccessRequest, AppPolicy, Effect, Rule, Subject, compile_policies

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
USERS = ["alice", "bob", "carol"]
GROUPS = ["ops", "dev", "fin"]
METHODS = ["GET", "POST", "delete"]
PREFIXES = ["/", "/admin", "/admin/", "/admin/x", "/api", "/api/v1", "/a"]
PATHS = ["/", "/admin", "/admin/", "/admin/x", "/admin/x/y", "/administrator", "/api", "/api/v10"]
PATHS += ["/api/v1/z", "/a", "/ab", "//admin", "/a/admin"]
NETWORKS = ["10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "2001:db8::/32", "0.0.0.0/0"]
ADDRESSES = ["10.1.2.3", "10.2.0.1", "192.168.1.5", "8.8.8.8", "2001:db8::1", "::ffff:10.1.2.3"]
ADDRESSES += ["not-an-address"]
AGES = [None, timedelta(0), timedelta(minutes=10), timedelta(minutes=31), timedelta(hours=13)]


def _segments_start_with(path: str, prefix: str) -> bool:
    wanted = [segment for segment in prefix.split("/") if segment]
    return path.split("/")[1 : len(wanted) + 1] == wanted


def _in_networks(source_ip: str, rule: Rule) -> bool:
    address = ipaddress.ip_address(source_ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in rule.source_networks)


def _mfa_ok(rule: Rule, request: AccessRequest) -> bool:
    if not rule.mfa_required and rule.mfa_max_age is None:
        return True
    if request.mfa_method is None or request.mfa_at is None:
        return False
    return rule.mfa_max_age is None or request.now - request.mfa_at <= rule.mfa_max_age


def interpret(
    tenant_id: str, policies: list[AppPolicy], request: AccessRequest
) -> tuple[Effect, str | None]:
    """The reference semantics, written for clarity rather than speed."""
    try:
        subject = request.subject
        if request.tenant_id != tenant_id or subject is None:
            return (Effect.DENY, None)
        if not any(policy.app == request.app for policy in policies):
            return (Effect.DENY, None)
        rules = [rule for policy in policies if policy.app == request.app for rule in policy.rules]

        def matches(rule: Rule) -> bool:
            anyone = not rule.users and not rule.groups
            return (
                (anyone or subject.username in rule.users or bool(rule.groups & subject.groups))
                and (not rule.methods or request.method in {m.upper() for m in rule.methods})
                and (
                    not rule.path_prefixes
                    or any(_segments_start_with(request.path, p) for p in rule.path_prefixes)
                )
                and (not rule.source_networks or _in_networks(request.source_ip, rule))
            )

        for rule in rules:
            if rule.effect is Effect.DENY and matches(rule):
                return (Effect.DENY, rule.name)
        step_up: str | None = None
        for rule in rules:
            if rule.effect is Effect.ALLOW and matches(rule):
                if _mfa_ok(rule, request):
                    return (Effect.ALLOW, rule.name)
                step_up = step_up or rule.name
        if step_up is not None:
            return (Effect.STEP_UP, step_up)
        return (Effect.DENY, None)
    except ValueError:
        return (Effect.DENY, None)


@st.composite
def rules(draw: st.DrawFn, name: str) -> Rule:
    effect = draw(st.sampled_from([Effect.ALLOW, Effect.DENY]))
    is_allow = effect is Effect.ALLOW
    return Rule(
        name=name,
        effect=effect,
        users=frozenset(draw(st.sets(st.sampled_from(USERS), max_size=2))),
        groups=frozenset(draw(st.sets(st.sampled_from(GROUPS), max_size=2))),
        methods=frozenset(draw(st.sets(st.sampled_from(METHODS), max_size=2))),
        path_prefixes=tuple(draw(st.lists(st.sampled_from(PREFIXES), max_size=2))),
        source_networks=tuple(
            ipaddress.ip_network(text)
            for text in draw(st.lists(st.sampled_from(NETWORKS), max_size=2))
        ),
        mfa_required=is_allow and draw(st.booleans()),
        mfa_max_age=draw(st.sampled_from([None, timedelta(minutes=30), timedelta(hours=12)]))
        if is_allow
        else None,
    )


@st.composite
def app_policies(draw: st.DrawFn) -> list[AppPolicy]:
    policies: list[AppPolicy] = []
    for app in draw(st.lists(st.sampled_from(["a1", "a2"]), max_size=3)):
        count = draw(st.integers(min_value=0, max_value=6))
        start = sum(len(policy.rules) for policy in policies)
        drawn = [draw(rules(f"r{start + index}")) for index in range(count)]
        policies.append(AppPolicy(app, tuple(drawn)))
    return policies


@st.composite
def requests(draw: st.DrawFn) -> AccessRequest:
    subject = None
    if draw(st.integers(min_value=0, max_value=9)) > 0:
        name = draw(st.sampled_from([*USERS, "mallory"]))
        groups = frozenset(draw(st.sets(st.sampled_from([*GROUPS, "other"]), max_size=3)))
        subject = Subject(f"id-{name}", name, f"{name}@example.tw", groups)
    age = draw(st.sampled_from(AGES))
    has_method = draw(st.integers(min_value=0, max_value=5)) > 0
    return AccessRequest(
        tenant_id=draw(st.sampled_from(["t1", "t1", "t1", "t2"])),
        app=draw(st.sampled_from(["a1", "a2", "a3"])),
        method=draw(st.sampled_from(["GET", "POST", "DELETE", "get"])),
        path=draw(st.sampled_from(PATHS)),
        source_ip=draw(st.sampled_from(ADDRESSES)),
        now=NOW,
        subject=subject,
        mfa_method="totp" if age is not None and has_method else None,
        mfa_at=None if age is None else NOW - age,
    )


@settings(max_examples=300, deadline=None)
@given(policies=app_policies(), batch=st.lists(requests(), min_size=1, max_size=8))
def test_compiled_decision_equals_interpreted_decision(
    policies: list[AppPolicy], batch: list[AccessRequest]
) -> None:
    """For random rules and requests, compiled decide agrees with the reference interpreter."""
    compiled = compile_policies("t1", policies)
    for request in [*batch, *batch]:  # twice: the candidate memo must not change answers
        decision = compiled.decide(request)
        assert (decision.effect, decision.rule) == interpret("t1", policies, request)
        assert decision.reasons
