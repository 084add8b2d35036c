"""The policy engine (NIST SP 800-207 §3.3): pure, compiled, default-deny decisions.

No I/O, no asyncio, no store: the gateway hands in an ``AccessRequest`` and gets back a
``Decision`` with reasons. See docs/policy.md for the language and its semantics.
"""

from menshen.policy.compile import CompiledPolicy, compile_policies
from menshen.policy.decide import EVALUATION_ERROR, decide
from menshen.policy.duration import format_duration, parse_duration
from menshen.policy.explain import considered, explain
from menshen.policy.model import (
    AccessRequest,
    AppPolicy,
    DataLabel,
    Decision,
    Device,
    Effect,
    Network,
    Outcome,
    ResourceLabel,
    Rule,
    RuleTrace,
    Subject,
)

__all__ = [
    "EVALUATION_ERROR",
    "AccessRequest",
    "AppPolicy",
    "CompiledPolicy",
    "DataLabel",
    "Decision",
    "Device",
    "Effect",
    "Network",
    "Outcome",
    "ResourceLabel",
    "Rule",
    "RuleTrace",
    "Subject",
    "compile_policies",
    "considered",
    "decide",
    "explain",
    "format_duration",
    "parse_duration",
]
