"""Firm-written detection rules in a small Sigma subset (SigmaHQ specification v2).

``rule`` checks a parsed document, ``condition`` parses conditions, ``compile`` turns a rule
into closures once, ``load`` reads YAML files (the edge).
"""

from menshen.monitor.sigma.compile import CompiledRule, compile_rule
from menshen.monitor.sigma.rule import Rule, SigmaUnsupported, rule_from_mapping

__all__ = ["CompiledRule", "Rule", "SigmaUnsupported", "compile_rule", "rule_from_mapping"]
