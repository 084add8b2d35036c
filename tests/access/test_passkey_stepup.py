"""What a step-up asks the verification page for: a passkey only when no code would do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from menshen.access.passkey_stepup import step_up_need
from menshen.policy.compile import CompiledPolicy, compile_policies
from menshen.policy.model import AccessRequest, AppPolicy, Decision, Effect, Rule, Subject

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _policy(*rules: Rule) -> CompiledPolicy:
    return compile_policies("t1", [AppPolicy("ledger", rules)])


def _decision(policy: CompiledPolicy, mfa_method: str | None = "totp") -> Decision:
    request = AccessRequest(
        tenant_id="t1",
        app="ledger",
        method="GET",
        path="/ledger/payouts",
        source_ip="198.51.100.1",
        now=NOW,
        subject=Subject("u1", "ann", "ann@x.example", frozenset({"ops"})),
        mfa_method=mfa_method,
        mfa_at=NOW - timedelta(hours=2),
    )
    return policy.decide(request)


def _rule(methods: frozenset[str] = frozenset(), max_age: timedelta | None = None) -> Rule:
    return Rule(
        "ops",
        groups=frozenset({"ops"}),
        mfa_required=True,
        mfa_methods=methods,
        mfa_max_age=max_age,
    )


def test_a_webauthn_only_rule_asks_for_a_passkey() -> None:
    """``mfa.methods: [webauthn]``: TOTP would not satisfy it, so the page offers a passkey."""
    policy = _policy(_rule(frozenset({"webauthn"})))
    decision = _decision(policy)
    assert decision.effect is Effect.STEP_UP
    assert step_up_need(policy, "ledger", decision) == "passkey"


def test_a_rule_that_accepts_a_code_asks_for_nothing_in_particular() -> None:
    """Any factor, a code among the methods, or only a fresher factor: no hint."""
    for rule in (
        _rule(frozenset({"webauthn", "totp"})),
        _rule(max_age=timedelta(hours=1)),
        _rule(frozenset({"totp"})),
    ):
        policy = _policy(rule)
        decision = _decision(policy, mfa_method="recovery_code")
        assert decision.effect is Effect.STEP_UP
        assert step_up_need(policy, "ledger", decision) is None


def test_no_policy_no_decision_or_an_unknown_rule_asks_for_nothing() -> None:
    """Without a rule to read, the page stays as it is (the guard still decides)."""
    policy = _policy(_rule(frozenset({"webauthn"})))
    assert step_up_need(None, "ledger", _decision(policy)) is None
    assert step_up_need(policy, "ledger", None) is None
    assert step_up_need(policy, "other-app", _decision(policy)) is None
    stranger = Decision(Effect.STEP_UP, "gone", (), rule_id="no-such-rule")
    assert step_up_need(policy, "ledger", stranger) is None
