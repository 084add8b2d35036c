"""Which factor a step-up asks for, so that the verification page offers the right one.

A rule may accept only some second factors (``mfa: {methods: [webauthn]}``): phishing-
resistant MFA (NIST SP 800-63B §5.2.5, verifier impersonation resistance; OMB M-22-09 §I.B)
is a passkey, and a TOTP code then does not satisfy it. The guard tells the verification page
so (``need=passkey``) and the page offers only the passkey ceremony. The hint only shapes the
page: the guard judges the session again on the next request, whatever it claims.
"""

from __future__ import annotations

from menshen.policy.compile import CompiledPolicy
from menshen.policy.model import Decision

__all__ = ["CODE_METHODS", "step_up_need"]

CODE_METHODS = frozenset({"totp", "recovery_code"})
"""Factors entered as codes on the verification page (not phishing-resistant)."""


def step_up_need(policy: CompiledPolicy | None, app: str, decision: Decision | None) -> str | None:
    """``"passkey"`` when the rule behind ``decision`` accepts a passkey and no code; else
    None (any factor the user holds will do, or nothing is known about the rule)."""
    if policy is None or decision is None or decision.rule_id is None:
        return None
    compiled = policy.apps.get(app)
    if compiled is None:
        return None
    for rule in compiled.rules:
        if rule.rule_id == decision.rule_id:
            methods = rule.mfa.methods if rule.mfa is not None else frozenset()
            if "webauthn" in methods and not methods & CODE_METHODS:
                return "passkey"
            return None
    return None
