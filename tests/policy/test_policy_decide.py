"""The decision semantics of menshen.policy, one behaviour per test."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from menshen.errors import InvalidInput
from menshen.policy import (
    EVALUATION_ERROR,
    AccessRequest,
    AppPolicy,
    CompiledPolicy,
    Decision,
    Effect,
    Rule,
    Subject,
    compile_policies,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
BOB = Subject("u-bob", "bob", "bob@example.tw", frozenset({"ops", "staff"}))
CAROL = Subject("u-carol", "carol", "carol@example.tw", frozenset({"contractors"}))


def request(
    *,
    app: str = "settlement",
    method: str = "GET",
    path: str = "/",
    source_ip: str = "10.1.2.3",
    subject: Subject | None = BOB,
    mfa_age: timedelta | None = timedelta(minutes=5),
    tenant_id: str = "t1",
) -> AccessRequest:
    return AccessRequest(
        tenant_id=tenant_id,
        app=app,
        method=method,
        path=path,
        source_ip=source_ip,
        now=NOW,
        subject=subject,
        mfa_method=None if mfa_age is None else "totp",
        mfa_at=None if mfa_age is None else NOW - mfa_age,
    )


def policy(*rules: Rule, app: str = "settlement") -> CompiledPolicy:
    return compile_policies("t1", [AppPolicy(app, rules)])


def test_matching_allow_rule_allows_and_names_itself() -> None:
    """A rule naming the user's group allows, and the decision names the rule."""
    decision = policy(Rule("ops", groups=frozenset({"ops"}))).decide(request())
    assert decision == Decision(Effect.ALLOW, "ops", ("Allowed by rule 'ops'.",))
    assert decision.allowed


def test_rule_naming_the_user_allows() -> None:
    """A rule listing the username allows that user."""
    decision = policy(Rule("bob-only", users=frozenset({"bob"}))).decide(request())
    assert decision.effect is Effect.ALLOW


def test_rule_without_users_or_groups_allows_any_signed_in_user() -> None:
    """Empty users and groups mean any authenticated user."""
    decision = policy(Rule("everyone")).decide(request(subject=CAROL))
    assert decision.allowed


def test_anonymous_request_is_denied_even_by_an_open_rule() -> None:
    """No subject means deny, whatever the rules say."""
    decision = policy(Rule("everyone")).decide(request(subject=None))
    assert decision.effect is Effect.DENY
    assert decision.rule is None
    assert decision.reasons == ("You are not signed in.",)


def test_unknown_app_is_denied_with_a_reason() -> None:
    """An app without a policy is denied, naming the app."""
    decision = policy(Rule("everyone")).decide(request(app="wiki"))
    assert decision.effect is Effect.DENY
    assert decision.reasons == ("No access policy is defined for app 'wiki'.",)


def test_app_with_no_rules_denies() -> None:
    """An empty policy is a default-deny policy."""
    decision = policy().decide(request())
    assert not decision.allowed
    assert "No rule of app 'settlement' allows bob" in decision.reasons[0]


def test_request_of_another_tenant_is_denied() -> None:
    """A request judged against another tenant's policy is denied."""
    decision = policy(Rule("everyone")).decide(request(tenant_id="t2"))
    assert decision.effect is Effect.DENY


def test_no_matching_identity_denies_without_naming_other_rules() -> None:
    """The reason names the app and the user, never the rules that did not match."""
    compiled = policy(Rule("finance-team", groups=frozenset({"finance"})))
    decision = compiled.decide(request())
    assert decision.effect is Effect.DENY
    assert decision.reasons == (
        "No rule of app 'settlement' allows bob, by user name or by group membership.",
    )
    assert "finance" not in decision.reasons[0]


def test_identity_match_with_wrong_path_denies_naming_the_request() -> None:
    """When identity matched but nothing else did, the reason repeats the user's request."""
    compiled = policy(Rule("ops", groups=frozenset({"ops"}), path_prefixes=("/reports",)))
    decision = compiled.decide(request(method="POST", path="/admin"))
    assert decision.reasons == (
        "No rule of app 'settlement' allows bob to POST /admin from 10.1.2.3.",
    )


def test_deny_rule_wins_over_an_earlier_allow_rule() -> None:
    """Deny rules are evaluated first, whatever their position."""
    compiled = policy(
        Rule("everyone"),
        Rule("no-contractors", effect=Effect.DENY, groups=frozenset({"contractors"})),
    )
    decision = compiled.decide(request(subject=CAROL))
    assert decision == Decision(
        Effect.DENY,
        "no-contractors",
        ("Rule 'no-contractors' of app 'settlement' denies this request.",),
    )
    assert compiled.decide(request()).allowed


def test_deny_rule_beats_step_up() -> None:
    """A matching deny rule denies even when an allow rule would only ask for MFA."""
    compiled = policy(
        Rule("ops", groups=frozenset({"ops"}), mfa_required=True),
        Rule("block-admin", effect=Effect.DENY, path_prefixes=("/admin",)),
    )
    decision = compiled.decide(request(path="/admin/users", mfa_age=None))
    assert decision.effect is Effect.DENY
    assert decision.rule == "block-admin"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/admin", True),
        ("/admin/", True),
        ("/admin/users", True),
        ("/admin/users/7", True),
        ("/administrator", False),
        ("/admin-old", False),
        ("/adm", False),
        ("/", False),
        ("/public/admin", False),
    ],
)
def test_path_prefix_matches_whole_segments(path: str, allowed: bool) -> None:
    """``/admin`` covers ``/admin`` and below, never ``/administrator``."""
    compiled = policy(Rule("admin", path_prefixes=("/admin",)))
    assert compiled.decide(request(path=path)).allowed is allowed


def test_prefix_with_trailing_slash_is_the_same_segment_prefix() -> None:
    """``/admin/`` as a prefix behaves as ``/admin``."""
    compiled = policy(Rule("admin", path_prefixes=("/admin/",)))
    assert compiled.decide(request(path="/admin")).allowed
    assert compiled.decide(request(path="/admin/x")).allowed
    assert not compiled.decide(request(path="/administrator")).allowed


@pytest.mark.parametrize("path", ["/", "/x", "/admin/deep/path", "//double"])
def test_root_prefix_matches_every_path(path: str) -> None:
    """The prefix ``/`` covers every path."""
    assert policy(Rule("all", path_prefixes=("/",))).decide(request(path=path)).allowed


def test_method_must_be_listed_when_methods_are_given() -> None:
    """A read-only rule allows GET and refuses POST."""
    compiled = policy(Rule("read", methods=frozenset({"GET", "HEAD"})))
    assert compiled.decide(request(method="GET")).allowed
    assert not compiled.decide(request(method="POST")).allowed


def test_methods_are_case_sensitive_on_the_request() -> None:
    """Rule methods are upper-cased at compile time; a lower-case request method is distinct."""
    compiled = policy(Rule("read", methods=frozenset({"get"})))
    assert compiled.decide(request(method="GET")).allowed
    assert not compiled.decide(request(method="get")).allowed


def test_source_network_limits_where_a_rule_applies() -> None:
    """A rule with networks only applies to clients inside them."""
    office = ipaddress.ip_network("10.1.0.0/16")
    compiled = policy(Rule("office", source_networks=(office,)))
    assert compiled.decide(request(source_ip="10.1.200.9")).allowed
    assert not compiled.decide(request(source_ip="10.2.0.1")).allowed
    assert not compiled.decide(request(source_ip="2001:db8::1")).allowed


def test_ipv4_mapped_address_cannot_escape_a_deny_rule() -> None:
    """``::ffff:203.0.113.9`` is judged as ``203.0.113.9``."""
    compiled = policy(
        Rule("everyone"),
        Rule(
            "block-range",
            effect=Effect.DENY,
            source_networks=(ipaddress.ip_network("203.0.113.0/24"),),
        ),
    )
    decision = compiled.decide(request(source_ip="::ffff:203.0.113.9"))
    assert decision.rule == "block-range"
    assert not decision.allowed


def test_ipv4_mapped_network_matches_plain_ipv4_clients() -> None:
    """A network written as ``::ffff:10.0.0.0/104`` covers ``10.x`` clients."""
    mapped = ipaddress.ip_network("::ffff:10.0.0.0/104")
    compiled = policy(Rule("office", source_networks=(mapped,)))
    assert compiled.decide(request(source_ip="10.9.9.9")).allowed


def test_ipv6_networks_match_ipv6_clients() -> None:
    """IPv6 networks work like IPv4 ones."""
    compiled = policy(Rule("v6", source_networks=(ipaddress.ip_network("2001:db8::/32"),)))
    assert compiled.decide(request(source_ip="2001:db8:1::5")).allowed
    assert not compiled.decide(request(source_ip="2001:db9::5")).allowed


def test_mfa_required_without_mfa_asks_for_step_up() -> None:
    """A matching allow rule that needs MFA answers step_up when the session has none."""
    compiled = policy(Rule("ops", groups=frozenset({"ops"}), mfa_required=True))
    decision = compiled.decide(request(mfa_age=None))
    assert decision == Decision(
        Effect.STEP_UP,
        "ops",
        ("MFA required: rule 'ops' of app 'settlement' asks for a fresh second factor.",),
    )


def test_stale_mfa_asks_for_step_up_naming_the_age() -> None:
    """An MFA older than the rule's max age answers step_up, saying how old is too old."""
    compiled = policy(Rule("ops", mfa_required=True, mfa_max_age=timedelta(hours=12)))
    decision = compiled.decide(request(mfa_age=timedelta(hours=12, seconds=1)))
    assert decision.effect is Effect.STEP_UP
    assert decision.reasons[0].startswith("MFA older than 12h:")


def test_mfa_exactly_at_max_age_is_still_fresh() -> None:
    """The max age is inclusive."""
    compiled = policy(Rule("ops", mfa_required=True, mfa_max_age=timedelta(minutes=30)))
    assert compiled.decide(request(mfa_age=timedelta(minutes=30))).allowed


def test_mfa_max_age_alone_implies_mfa_required() -> None:
    """A max age without ``mfa_required`` still requires a second factor."""
    compiled = policy(Rule("ops", mfa_max_age=timedelta(hours=1)))
    assert compiled.decide(request(mfa_age=None)).effect is Effect.STEP_UP
    assert compiled.decide(request(mfa_age=timedelta(minutes=1))).allowed


def test_mfa_method_without_time_counts_as_no_mfa() -> None:
    """Half a record of MFA is no MFA (fail closed)."""
    compiled = policy(Rule("ops", mfa_required=True))
    half = AccessRequest("t1", "settlement", "GET", "/", "10.0.0.1", NOW, BOB, "totp", None)
    assert compiled.decide(half).effect is Effect.STEP_UP


def test_rule_without_mfa_condition_allows_before_a_step_up() -> None:
    """If any matching rule allows outright, a later MFA rule does not cause step-up."""
    compiled = policy(
        Rule("strict", groups=frozenset({"ops"}), mfa_required=True),
        Rule("relaxed", groups=frozenset({"staff"}), methods=frozenset({"GET"})),
    )
    decision = compiled.decide(request(mfa_age=None))
    assert decision.rule == "relaxed"
    assert decision.allowed


def test_step_up_names_the_first_rule_needing_mfa() -> None:
    """Among several MFA rules, the first in written order is named."""
    compiled = policy(
        Rule("first", groups=frozenset({"ops"}), mfa_max_age=timedelta(hours=1)),
        Rule("second", groups=frozenset({"staff"}), mfa_max_age=timedelta(minutes=30)),
    )
    decision = compiled.decide(request(mfa_age=timedelta(hours=2)))
    assert decision.effect is Effect.STEP_UP
    assert decision.rule == "first"


def test_step_up_only_when_the_rest_of_the_rule_matches() -> None:
    """An MFA rule for another path does not turn a denial into a step-up."""
    compiled = policy(Rule("admin", path_prefixes=("/admin",), mfa_required=True))
    assert compiled.decide(request(path="/reports", mfa_age=None)).effect is Effect.DENY


def test_several_policies_for_one_app_are_combined() -> None:
    """Rules of two policies for the same app are evaluated together."""
    compiled = compile_policies(
        "t1",
        [
            AppPolicy("settlement", (Rule("ops", groups=frozenset({"ops"})),)),
            AppPolicy("settlement", (Rule("block", effect=Effect.DENY, users=frozenset({"bob"})),)),
        ],
    )
    assert compiled.decide(request()).rule == "block"


def test_unparsable_source_address_fails_closed() -> None:
    """A garbage client address is an evaluation error when a rule needs it, never an allow."""
    compiled = policy(
        Rule("everyone"),
        Rule("block", effect=Effect.DENY, source_networks=(ipaddress.ip_network("10.0.0.0/8"),)),
    )
    decision = compiled.decide(request(source_ip="10.0.0.1, 8.8.8.8"))
    assert decision == Decision(Effect.DENY, None, (EVALUATION_ERROR,))
    assert "evaluation error" in decision.reasons[0]


def test_any_exception_during_evaluation_is_a_denial() -> None:
    """decide never raises: a malformed request becomes a denial with 'evaluation error'."""
    compiled = policy(Rule("everyone"))
    broken = Subject("u", "bob", "b@x", groups=["ops"])  # type: ignore[arg-type]
    decision = compiled.decide(request(subject=broken))
    assert decision.effect is Effect.DENY
    assert decision.reasons == (EVALUATION_ERROR,)


def test_decide_is_stable_across_repeated_calls() -> None:
    """The per-app candidate memo never changes an answer."""
    compiled = policy(
        Rule("ops", groups=frozenset({"ops"}), path_prefixes=("/ops",)),
        Rule("bob", users=frozenset({"bob"}), path_prefixes=("/bob",)),
    )
    other = Subject("u-x", "bob", "x@x", frozenset())
    for _ in range(3):
        assert compiled.decide(request(path="/ops")).allowed
        assert not compiled.decide(request(path="/ops", subject=other)).allowed
        assert compiled.decide(request(path="/bob", subject=other)).allowed


def test_deny_rule_with_mfa_condition_is_rejected_at_compile_time() -> None:
    """MFA conditions make no sense on a deny rule; the compiler refuses them."""
    with pytest.raises(InvalidInput, match="deny rule"):
        policy(Rule("odd", effect=Effect.DENY, mfa_required=True))


def test_relative_path_prefix_is_rejected_at_compile_time() -> None:
    """A prefix must start with '/'."""
    with pytest.raises(InvalidInput, match="must start with '/'"):
        policy(Rule("odd", path_prefixes=("admin",)))


def test_duplicate_rule_names_within_an_app_are_rejected() -> None:
    """Decisions name rules, so names must be unique per app."""
    with pytest.raises(InvalidInput, match="several rules named twice"):
        policy(Rule("twice"), Rule("twice", effect=Effect.DENY))
