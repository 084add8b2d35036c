"""Firm rules in the Sigma subset: parsing, unsupported features named, matching, counting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.errors import InvalidInput
from menshen.monitor.detectors.sigma_rules import SigmaRules
from menshen.monitor.model import Category, EventOutcome, Severity
from menshen.monitor.sigma import SigmaUnsupported, compile_rule, rule_from_mapping
from menshen.monitor.sigma.load import rules_from_text

from .helpers import T0, detector_set, event, ip, login, names, run

ADMIN_FROM_OUTSIDE = """
title: Settlement admin reached from outside the office
id: settlement-outside
level: high
logsource:
  category: access
detection:
  selection:
    app: settlement
    resource|startswith: /admin
  office:
    src_ip|cidr:
      - 60.250.1.0/24
      - 10.0.0.0/8
  condition: selection and not office
falsepositives:
  - staff on a business trip
"""

SPRAY = """
title: Many users failing from one source
id: spray-rule
level: medium
logsource:
  category: authentication
detection:
  failed:
    outcome: failure
  condition: failed | count(user) by src_ip > 4
timeframe: 5m
"""


def _sigma(text: str) -> SigmaRules:
    return SigmaRules(tuple(compile_rule(rule) for rule in rules_from_text(text)))


def test_a_selection_with_a_cidr_filter_matches_outside_the_office_only() -> None:
    """The admin page from home fires; from the office network it does not."""
    detectors = detector_set(_sigma(ADMIN_FROM_OUTSIDE))
    found = run(
        detectors,
        event(T0, app="settlement", resource="/admin/batches"),
        event(T0, app="settlement", resource="/admin/batches", src_ip=ip("taipei_office")),
        event(T0, app="settlement", resource="/reports"),
        event(T0, app="wiki", resource="/admin"),
    )
    assert names(found) == ["sigma:settlement-outside"]
    assert found[0].severity is Severity.HIGH
    assert found[0].summary == "Settlement admin reached from outside the office"


def test_a_count_aggregation_fires_once_per_group_and_timeframe() -> None:
    """Five distinct users failing from one source within 5 minutes: one finding."""
    detectors = detector_set(_sigma(SPRAY))
    failures = [
        login(
            T0 + timedelta(seconds=n * 20),
            user=f"u{n}",
            outcome=EventOutcome.FAILURE,
            src_ip=ip("lagos"),
        )
        for n in range(8)
    ]
    found = run(detectors, *failures)
    assert names(found) == ["sigma:spray-rule"]
    assert found[0].evidence["count"] == 5
    assert found[0].evidence["group"] == ip("lagos")


def test_modifiers_and_wildcards_compare_like_sigma() -> None:
    """contains/endswith are case-insensitive, re is not, * and ? are wildcards, |all ANDs."""
    text = """
title: t
logsource: {category: access}
detection:
  a:
    user_agent|contains: CHROME
    resource|endswith: /HOME
  b:
    resource|re: ^/pages/[a-z]+$
  c:
    app: wi?i
    resource: /pages/*
  d:
    resource|contains|all: [pages, home]
  e:
    bytes_out|gte: 1000
  condition: a and b and (c and d) and not e
"""
    detectors = detector_set(_sigma(text))
    assert len(run(detectors, event(T0))) == 1
    assert run(detectors, event(T0, resource="/Pages/home")) == []
    assert run(detectors, event(T0, bytes_out=5000)) == []


def test_one_of_a_pattern_and_null_values() -> None:
    """'1 of sel_*' ORs the matching selections; null matches a missing field."""
    text = """
title: t
logsource: {category: authentication}
detection:
  sel_nodevice:
    device_id: null
  sel_vpn:
    asn: 9009
  condition: 1 of sel_*
"""
    detectors = detector_set(_sigma(text))
    assert len(run(detectors, login(T0, device_id=None))) == 1
    assert len(run(detectors, login(T0, src_ip=ip("vpn_tokyo")))) == 1
    assert run(detectors, login(T0)) == []
    assert run(detectors, event(T0, device_id=None)) == []  # another category


@pytest.mark.parametrize(
    ("snippet", "named"),
    [
        ("  sel:\n    user|base64offset|contains: x\n  condition: sel", "modifier 'base64offset'"),
        ("  sel:\n    - evil\n    - worse\n  condition: sel", "keyword search"),
        ("  sel:\n    Image: x.exe\n  condition: sel", "field 'Image'"),
        ("  sel:\n    user: x\n  condition: sel | max(bytes_out) by user > 5", "max("),
        ("  sel:\n    user: x\n  condition: sel | near other", "near"),
    ],
)
def test_unsupported_sigma_features_are_named(snippet: str, named: str) -> None:
    """Each feature outside the subset is refused with its name in the message."""
    text = f"title: t\nlogsource:\n  category: access\ndetection:\n{snippet}\n"
    with pytest.raises(SigmaUnsupported) as caught:
        rules_from_text(text)
    assert named in str(caught.value)


def test_several_unsupported_features_are_named_together() -> None:
    """logsource.product and an unknown modifier in one rule: both named."""
    text = """
title: t
logsource: {product: windows, category: access}
detection:
  sel: {user|windash: x}
  condition: sel
"""
    with pytest.raises(SigmaUnsupported) as caught:
        rules_from_text(text)
    message = str(caught.value)
    assert "logsource.product" in message
    assert "windash" in message


@pytest.mark.parametrize(
    "text",
    [
        "title: t\ndetection:\n  sel: {user: x}\n  condition: sel and other\n",
        "title: t\ndetection:\n  sel: {user: x}\n  condition: (sel\n",
        "title: t\ndetection:\n  sel: {user: x}\n  condition: sel | count() > 3\n",
        "title: t\nlevel: severe\ndetection:\n  sel: {user: x}\n  condition: sel\n",
        "detection:\n  sel: {user: x}\n  condition: sel\n",
        "title: t\ndetection:\n  sel: {resource|re: '('}\n  condition: sel\n",
        "title: [unclosed\n",
    ],
)
def test_malformed_rules_are_refused(text: str) -> None:
    """Unknown selection, unbalanced brackets, count without timeframe, bad level/regex/YAML."""
    with pytest.raises(InvalidInput):
        rules_from_text(text)


def test_levels_map_to_severities_and_category_is_optional() -> None:
    """informational -> LOW, critical -> CRITICAL; no category matches every category."""
    text = "title: t\nlevel: {}\ndetection:\n  sel: {{user: alice}}\n  condition: sel\n"
    low = rules_from_text(text.format("informational"))[0]
    critical = rules_from_text(text.format("critical"))[0]
    assert (low.severity, critical.severity) == (Severity.LOW, Severity.CRITICAL)
    assert low.category is None
    detectors = detector_set(_sigma(text.format("low")))
    assert len(run(detectors, login(T0), event(T0, category=Category.MFA, action="mfa"))) == 2


def test_the_documented_examples_parse() -> None:
    """Both rules shown in docs/monitoring.md are accepted as written."""
    from pathlib import Path

    text = Path(__file__).parents[3].joinpath("docs", "monitoring.md").read_text("utf-8")
    block = (
        text.split("## Firm rules (Sigma subset)", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    )
    rules = rules_from_text(block)
    assert [r.rule_id for r in rules] == ["settlement-outside", "spray"]


_NAMES = ("a", "b", "c")


def _expressions() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(_NAMES)
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda x: f"not {x}", inner),
            st.builds(lambda x, y: f"({x} and {y})", inner, inner),
            st.builds(lambda x, y: f"({x} or {y})", inner, inner),
            st.builds(lambda x, y: f"{x} and {y}", inner, inner),
            st.builds(lambda x, y: f"{x} or {y}", inner, inner),
        ),
        max_leaves=8,
    )


@given(_expressions(), st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_compiled_conditions_agree_with_python_boolean_logic(
    expression: str, truth: tuple[bool, bool, bool]
) -> None:
    """Sigma precedence (not > and > or) is Python's: compiled == interpreted."""
    values = dict(zip(_NAMES, truth, strict=True))
    detection = {name: {"user": "x" if values[name] else "y"} for name in _NAMES}
    rule = rule_from_mapping({"title": "t", "detection": {**detection, "condition": expression}})
    ctx = detector_set().context(event(T0, user="x"))
    expected = eval(expression, {}, values)  # noqa: S307 — the expression is generated here
    assert (compile_rule(rule).check(ctx) is not None) == expected
