"""The compiled engine decides exactly as a plain reference interpreter, for the whole language.

Random policies (nested all/any/not, named blocks, windows, networks, countries, devices,
risk, headers, scopes, step-up rules, API clients) against random requests.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from menshen.policy import AccessRequest, AppPolicy, Device, Effect, Rule, Subject, compile_policies
from menshen.policy.conditions import (
    TRUST_LEVELS,
    AllOf,
    AnyOf,
    Condition,
    CountryIn,
    DevicePosture,
    DeviceTags,
    DeviceTrust,
    HeaderIs,
    MethodIn,
    Not,
    PathUnder,
    RiskAbove,
    RiskBelow,
    SourceIn,
    TimeWindow,
    Use,
)
from menshen.policy.model import SubjectKind

NETWORKS = [ipaddress.ip_network(text) for text in ("10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32")]
LISTS = {"office": (ipaddress.ip_network("192.168.0.0/16"),)}
ADDRESSES = ["10.1.2.3", "10.2.0.1", "192.168.1.5", "8.8.8.8", "2001:db8::1"]
ZONES = ["Asia/Taipei", "UTC", "America/New_York"]
BLOCKS = ["b1", "b2"]
START = datetime(2026, 3, 1, tzinfo=UTC)


def leaves() -> st.SearchStrategy[Condition]:
    window = st.builds(
        lambda days, start, length, zone, overnight: TimeWindow(
            frozenset(days),
            start,
            (start + length) % 1440 if overnight else min(start + length, 1440),
            zone,
            overnight,
        ),
        st.sets(st.integers(0, 6), min_size=1),
        st.integers(0, 23).map(lambda hour: hour * 60),
        st.integers(1, 15).map(lambda hours: hours * 60),
        st.sampled_from(ZONES),
        st.booleans(),
    ).filter(lambda w: w.end > w.start if not w.overnight else 0 < w.end < w.start)
    return st.one_of(
        window,
        st.builds(
            SourceIn,
            st.lists(st.sampled_from(NETWORKS), max_size=2).map(tuple),
            st.sampled_from([(), ("office",)]),
        ),
        st.builds(CountryIn, st.frozensets(st.sampled_from(["TW", "JP", "US"]), min_size=1)),
        st.builds(DeviceTrust, st.sampled_from(TRUST_LEVELS)),
        st.builds(DeviceTags, st.frozensets(st.sampled_from(["laptop", "corp"]), min_size=1)),
        st.builds(DevicePosture, st.just("diskEncrypted"), st.booleans()),
        st.builds(RiskBelow, st.sampled_from([30.0, 50.0])),
        st.builds(RiskAbove, st.sampled_from([30.0, 50.0])),
        st.builds(MethodIn, st.frozensets(st.sampled_from(["GET", "POST"]), min_size=1)),
        st.builds(
            PathUnder, st.lists(st.sampled_from(["/", "/a", "/a/b", "/c"]), min_size=1).map(tuple)
        ),
        st.builds(HeaderIs, st.just("x-t"), st.frozensets(st.sampled_from(["1", "2"]))),
        st.builds(Use, st.sampled_from(BLOCKS)),
    )


conditions = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        st.builds(AllOf, st.lists(inner, min_size=1, max_size=3).map(tuple)),
        st.builds(AnyOf, st.lists(inner, min_size=1, max_size=3).map(tuple)),
        st.builds(Not, inner),
    ),
    max_leaves=6,
)


def holds(condition: Condition, request: AccessRequest, blocks: dict[str, Condition]) -> bool:
    """The reference meaning of a condition, written for clarity."""
    if isinstance(condition, AllOf):
        return all(holds(item, request, blocks) for item in condition.items)
    if isinstance(condition, AnyOf):
        return any(holds(item, request, blocks) for item in condition.items)
    if isinstance(condition, Not):
        return not holds(condition.item, request, blocks)
    if isinstance(condition, Use):
        return holds(blocks[condition.name], request, blocks)
    if isinstance(condition, SourceIn):
        address = ipaddress.ip_address(request.source_ip)
        networks = [*condition.networks, *(n for name in condition.lists for n in LISTS[name])]
        return any(address in network for network in networks)
    if isinstance(condition, CountryIn):
        return request.country in condition.countries
    device = request.device
    if isinstance(condition, DeviceTrust):
        return device is not None and TRUST_LEVELS.index(device.trust) >= TRUST_LEVELS.index(
            condition.minimum
        )
    if isinstance(condition, DeviceTags):
        return device is not None and condition.tags <= device.tags
    if isinstance(condition, DevicePosture):
        return device is not None and device.posture.get(condition.attribute) is condition.value
    if isinstance(condition, TimeWindow):
        local = request.now.astimezone(ZoneInfo(condition.zone))
        minute = local.hour * 60 + local.minute
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        if not condition.overnight:
            return today in condition.days and condition.start <= minute < condition.end
        return (today in condition.days and minute >= condition.start) or (
            yesterday in condition.days and minute < condition.end
        )
    if isinstance(condition, RiskBelow):
        return request.risk < condition.limit
    if isinstance(condition, RiskAbove):
        return request.risk > condition.limit
    if isinstance(condition, MethodIn):
        return request.method in condition.methods
    if isinstance(condition, PathUnder):
        return any(
            prefix == "/" or request.path == prefix or request.path.startswith(prefix + "/")
            for prefix in condition.prefixes
        )
    if isinstance(condition, HeaderIs):
        value = request.headers.get(condition.name)
        return value is not None and (not condition.values or value in condition.values)
    raise AssertionError(condition)


def mfa_unmet(rule: Rule, request: AccessRequest) -> bool:
    if not (rule.mfa_required or rule.mfa_max_age or rule.mfa_methods):
        return False
    if request.mfa_method is None or request.mfa_at is None:
        return True
    if rule.mfa_methods and request.mfa_method not in rule.mfa_methods:
        return True
    return rule.mfa_max_age is not None and request.now - request.mfa_at > rule.mfa_max_age


def interpret(policy: AppPolicy, request: AccessRequest) -> tuple[Effect, str | None]:
    subject = request.subject
    assert subject is not None

    def applies(rule: Rule) -> bool:
        if not (rule.users or rule.groups or rule.clients):
            who = subject.kind == "user" or rule.effect is not Effect.ALLOW
        else:
            who = (
                (subject.kind == "user" and subject.username in rule.users)
                or (subject.kind == "client" and subject.username in rule.clients)
                or bool(rule.groups & subject.groups)
            )
        return who and (rule.when is None or holds(rule.when, request, dict(policy.conditions)))

    for rule in policy.rules:
        if rule.effect is Effect.DENY and applies(rule):
            return (Effect.DENY, rule.name)
    allows = [r for r in policy.rules if r.effect is Effect.ALLOW and applies(r)]
    granted = [r for r in allows if not mfa_unmet(r, request)]
    if not allows:
        return (Effect.DENY, None)
    for rule in policy.rules:
        if rule.effect is Effect.STEP_UP and applies(rule) and mfa_unmet(rule, request):
            return (Effect.STEP_UP, rule.name)
    if granted:
        return (Effect.ALLOW, granted[0].name)
    return (Effect.STEP_UP, allows[0].name)


@st.composite
def policies(draw: st.DrawFn) -> AppPolicy:
    blocks = {"b1": draw(leaves().filter(lambda c: not isinstance(c, Use)))}
    blocks["b2"] = AnyOf((Use("b1"), draw(leaves().filter(lambda c: not isinstance(c, Use)))))
    rules = []
    for index in range(draw(st.integers(0, 6))):
        effect = draw(st.sampled_from([Effect.ALLOW, Effect.ALLOW, Effect.DENY, Effect.STEP_UP]))
        wants_mfa = effect is Effect.STEP_UP or (effect is Effect.ALLOW and draw(st.booleans()))
        rules.append(
            Rule(
                f"r{index}",
                effect,
                users=draw(st.frozensets(st.sampled_from(["alice", "bob"]), max_size=1)),
                groups=draw(st.frozensets(st.sampled_from(["ops", "fin"]), max_size=1)),
                clients=draw(st.frozensets(st.sampled_from(["bank-a"]), max_size=1)),
                when=draw(st.none() | conditions),
                mfa_required=wants_mfa,
                mfa_methods=draw(st.frozensets(st.sampled_from(["webauthn", "totp"]), max_size=1))
                if wants_mfa
                else frozenset(),
                mfa_max_age=draw(st.sampled_from([None, timedelta(minutes=15)]))
                if wants_mfa
                else None,
            )
        )
    return AppPolicy("app", tuple(rules), conditions=blocks, ip_lists=LISTS)


@st.composite
def requests(draw: st.DrawFn) -> AccessRequest:
    kind: SubjectKind = draw(st.sampled_from(["user", "user", "client"]))
    name = draw(st.sampled_from(["alice", "bob", "carol"] if kind == "user" else ["bank-a", "x"]))
    groups = frozenset(draw(st.sets(st.sampled_from(["ops", "fin", "other"]), max_size=2)))
    # Whole hours and their edges, so that window boundaries are hit often.
    hours = draw(st.integers(0, 24 * 200))
    now = START + timedelta(hours=hours, minutes=draw(st.sampled_from([0, 1, 59])))
    device = draw(
        st.none()
        | st.builds(
            Device,
            st.just("d"),
            st.sampled_from(TRUST_LEVELS),
            st.frozensets(st.sampled_from(["laptop", "corp"])),
            st.sampled_from([{}, {"diskEncrypted": True}, {"diskEncrypted": False}]),
        )
    )
    mfa_age = draw(st.sampled_from([None, timedelta(minutes=3), timedelta(hours=3)]))
    return AccessRequest(
        tenant_id="t1",
        app="app",
        method=draw(st.sampled_from(["GET", "POST"])),
        path=draw(st.sampled_from(["/", "/a", "/a/b/c", "/ab", "/c"])),
        source_ip=draw(st.sampled_from(ADDRESSES)),
        now=now,
        subject=Subject("id", name, "", groups, kind=kind),
        mfa_method=None if mfa_age is None else draw(st.sampled_from(["webauthn", "totp"])),
        mfa_at=None if mfa_age is None else now - mfa_age,
        risk=draw(st.sampled_from([0.0, 30.0, 49.5, 80.0])),
        device=device,
        country=draw(st.sampled_from([None, "TW", "US"])),
        headers=draw(st.sampled_from([{}, {"x-t": "1"}, {"x-t": "3"}])),
    )


@settings(max_examples=250, deadline=None)
@given(policy=policies(), batch=st.lists(requests(), min_size=1, max_size=6))
def test_compiled_language_equals_reference_interpreter(
    policy: AppPolicy, batch: list[AccessRequest]
) -> None:
    """For random policies of the full language, compiled decide equals the interpreter."""
    compiled = compile_policies("t1", [policy])
    for request in [*batch, *batch]:
        decision = compiled.decide(request)
        assert (decision.effect, decision.rule) == interpret(policy, request)
        assert decision.reasons
        if not decision.allowed:
            assert len(decision.considered) == len(policy.rules)
