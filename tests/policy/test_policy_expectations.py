"""Policy tests: expected decisions parsed from a PolicyTest spec and run against a policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from menshen.policy.expectations import (
    DEFAULT_IP,
    ExpectationProblem,
    access_request,
    parse_expectations,
    run_expectations,
)
from menshen.policy.model import Effect
from tests.policy.test_policy_analysis import EXAMPLE_POLICY

TUESDAY_10 = "2026-01-06T10:00:00+08:00"
SATURDAY = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
ALICE_AT_THE_OFFICE: dict[str, Any] = {
    "user": "alice",
    "app": "settlement",
    "path": "/reports",
    "ip": "10.20.3.4",
    "mfa": "webauthn",
    "mfaAge": "5m",
    "device": {"trust": "managed", "posture": {"diskEncrypted": True}},
    "expect": "allow",
}
DIRECTORY = {"alice": frozenset({"finance-ops"}), "carol": frozenset({"contractors"})}


def test_cases_become_requests_with_defaults() -> None:
    """Path /, GET, a documentation address, no MFA, the run time: unless the case says."""
    (case,) = parse_expectations({"cases": [{"user": "bob", "app": "wiki", "expect": "deny"}]})
    now = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)
    request = access_request("t1", case, frozenset({"contractors"}), now)
    assert (request.path, request.method, request.source_ip) == ("/", "GET", DEFAULT_IP)
    assert request.mfa_method is None
    assert request.mfa_at is None
    assert request.now == now
    assert case.expect is Effect.DENY
    assert case.title() == "bob GET wiki/ → deny"


def test_mfa_age_and_time_set_when_the_second_factor_was_given() -> None:
    """``mfaAge: 5m`` at ``at`` means the MFA was five minutes before."""
    (case,) = parse_expectations({"at": TUESDAY_10, "cases": [ALICE_AT_THE_OFFICE]})
    request = access_request("t1", case, frozenset(), SATURDAY)
    assert request.now == datetime.fromisoformat(TUESDAY_10)
    assert request.mfa_at == request.now - timedelta(minutes=5)
    assert request.device is not None
    assert request.device.trust == "managed"


def test_passing_and_failing_cases_against_the_reference_policy() -> None:
    """Alice at the office is allowed; carol is denied by SET-001; a wrong hope fails."""
    cases = parse_expectations(
        {
            "at": TUESDAY_10,
            "cases": [
                ALICE_AT_THE_OFFICE,
                {"user": "carol", "app": "settlement", "expect": "deny", "rule": "SET-001"},
                {**ALICE_AT_THE_OFFICE, "mfa": "totp", "expect": "step_up"},
                {**ALICE_AT_THE_OFFICE, "at": "2026-01-10T10:00:00+08:00", "expect": "allow"},
                {"groups": ["contractors"], "app": "wiki", "path": "/admin", "expect": "deny"},
                {"client": "bank-a", "app": "partner-api", "expect": "allow"},
            ],
        }
    )
    results = run_expectations(EXAMPLE_POLICY, cases, now=SATURDAY, directory=DIRECTORY)
    assert [result.passed for result in results] == [True, True, True, False, True, False]
    saturday = results[3]
    assert saturday.decision.effect is Effect.DENY
    assert any("it is Sat 10:00 there" in line for line in saturday.explanation)
    assert saturday.explanation[-1].startswith("decision: deny")
    assert results[0].explanation == ()


def test_a_case_naming_the_wrong_rule_fails() -> None:
    """``rule`` must name the deciding rule, by name or by id."""
    base = {"user": "carol", "app": "settlement", "expect": "deny"}
    cases = parse_expectations(
        {
            "cases": [
                {**base, "rule": "settlement-access/contractors-never"},
                {**base, "rule": "SET-002"},
            ]
        }
    )
    results = run_expectations(EXAMPLE_POLICY, cases, now=SATURDAY, directory=DIRECTORY)
    assert [result.passed for result in results] == [True, False]


def test_groups_given_in_a_case_replace_the_directory() -> None:
    """A hypothetical subject: a user's groups may be stated in the case."""
    cases = parse_expectations(
        {
            "cases": [
                {
                    "user": "alice",
                    "groups": ["contractors"],
                    "app": "settlement",
                    "expect": "deny",
                    "rule": "SET-001",
                }
            ]
        }
    )
    (result,) = run_expectations(EXAMPLE_POLICY, cases, now=SATURDAY, directory=DIRECTORY)
    assert result.passed


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({}, ("cases",), "Field required"),
        ({"cases": []}, ("cases",), "at least 1 item"),
        (
            {"cases": [{"app": "wiki", "expect": "deny"}]},
            ("cases", 0),
            "give user, client or groups",
        ),
        (
            {"cases": [{"user": "a", "app": "wiki", "expect": "maybe"}]},
            ("cases", 0, "expect"),
            "'allow'",
        ),
        (
            {"cases": [{"user": "a", "app": "wiki", "expect": "deny", "colour": 1}]},
            ("cases", 0, "colour"),
            "unknown field",
        ),
        (
            {"cases": [{"user": "a", "app": "w", "expect": "deny", "mfaAge": "5m"}]},
            ("cases", 0),
            "mfaAge needs mfa",
        ),
        (
            {
                "cases": [
                    {"user": "a", "app": "w", "expect": "deny", "mfa": "totp", "mfaAge": "5 min"}
                ]
            },
            ("cases", 0),
            "invalid duration",
        ),
        (
            {"cases": [{"user": "a", "app": "w", "expect": "deny", "path": "x"}]},
            ("cases", 0, "path"),
            "must start with '/'",
        ),
        (
            {"cases": [{"user": "a", "app": "w", "expect": "deny", "at": "2026-01-06T10:00"}]},
            ("cases", 0, "at"),
            "offset",
        ),
        (
            {"at": "tuesday", "cases": [{"user": "a", "app": "w", "expect": "deny"}]},
            ("at",),
            "ISO 8601",
        ),
        (
            {"cases": [{"user": "a", "client": "b", "app": "w", "expect": "deny"}]},
            ("cases", 0),
            "not both",
        ),
    ],
)
def test_bad_cases_are_refused_where_they_are(
    body: dict[str, Any], loc: tuple[str | int, ...], message: str
) -> None:
    """Each problem names its place in the spec and what is expected."""
    with pytest.raises(ExpectationProblem) as caught:
        parse_expectations(body)
    assert caught.value.loc == loc
    assert message in caught.value.message


def test_cases_remember_where_they_were_written() -> None:
    """``where`` turns a case's location into file:line for the report."""
    (case,) = parse_expectations(
        {"cases": [{"user": "a", "app": "w", "expect": "deny"}]}, lambda loc: f"f.yaml:{loc[1]}"
    )
    assert case.where == "f.yaml:0"
