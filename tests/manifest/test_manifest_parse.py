"""Parsing manifests: typed, normalised values, and errors that name the file and line."""

from __future__ import annotations

import ipaddress
import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from menshen.errors import ConfigError
from menshen.manifest import AppSpec, GroupSpec, PolicySpec, parse_manifests, to_app_policy
from menshen.policy import Effect
from tests.manifest.conftest import FIRM

HEAD = "apiVersion: menshen.dev/v1\n"


def app_doc(name: str = "settlement", extra: str = "") -> str:
    return (
        f"{HEAD}kind: App\nmetadata: {{name: {name}}}\nspec:\n"
        f"  hosts: [{name}.example.tw]\n  upstream: http://10.0.0.5:8080\n{extra}"
    )


def error_of(text: str, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_manifests(text, "firm.yaml", **kwargs)  # type: ignore[arg-type]
    assert caught.value.source == "firm.yaml"
    return caught.value


def test_sample_file_parses_into_typed_values() -> None:
    """The sample firm file gives two groups, two apps and a policy, in file order."""
    manifests = parse_manifests(FIRM, "firm.yaml")
    assert [m.ref for m in manifests] == [
        "Group/ops",
        "Group/contractors",
        "App/settlement",
        "App/wiki",
        "Policy/settlement-access",
    ]
    assert [m.line for m in manifests] == [2, 10, 17, 27, 37]
    assert manifests[0].spec == GroupSpec("ops", "Operations engineers", True, ("alice", "bob"))
    assert manifests[1].spec == GroupSpec("contractors", "Outside contractors", False, None)


def test_app_spec_is_normalised() -> None:
    """Upstream gets an explicit port, the prefix loses its trailing slash, title defaults."""
    wiki = parse_manifests(FIRM, "firm.yaml")[3].spec
    assert wiki == AppSpec(
        name="wiki",
        hosts=("intra.example.tw",),
        path_prefix="/wiki",
        upstream="https://wiki.internal:443",
        upstream_scheme="https",
        upstream_host="wiki.internal",
        upstream_port=443,
        title="wiki",
        preserve_host=True,
    )


def test_policy_rules_are_normalised() -> None:
    """Methods upper-cased and sorted, MFA max age canonical, defaults filled."""
    policy = parse_manifests(FIRM, "firm.yaml")[4].spec
    assert isinstance(policy, PolicySpec)
    deny, admin, read = policy.rules
    assert deny.effect == "deny"
    assert admin.mfa_required
    assert admin.mfa_max_age == "12h"
    assert read.methods == ("GET", "HEAD")
    assert read.effect == "allow"


def test_to_app_policy_qualifies_rule_names_and_converts_values() -> None:
    """The compiler gets 'policy/rule' names, networks and timedeltas."""
    app_policy = to_app_policy(parse_manifests(FIRM, "firm.yaml")[4])
    assert app_policy.app == "settlement"
    names = [rule.name for rule in app_policy.rules]
    assert names == [
        "settlement-access/no-contractors",
        "settlement-access/ops-admin",
        "settlement-access/ops-read",
    ]
    admin = app_policy.rules[1]
    assert admin.source_networks == (ipaddress.ip_network("10.0.0.0/8"),)
    assert admin.mfa_max_age == timedelta(hours=12)
    assert app_policy.rules[0].effect is Effect.DENY


def test_empty_documents_and_comments_are_ignored() -> None:
    """A file of separators and comments parses to nothing."""
    assert parse_manifests("# nothing here\n---\n---\n", "empty.yaml") == []


def test_yaml_syntax_error_names_file_and_line() -> None:
    """A broken flow sequence is reported where the parser gave up."""
    error = error_of(app_doc(extra="  title: a: b\n") + "---\n" + app_doc("wiki"))
    assert error.line == 7
    assert "YAML syntax error: mapping values are not allowed here" in error.message
    assert str(error).startswith("firm.yaml:7:11: ")


def test_unknown_kind_names_the_kind_line() -> None:
    """An unknown kind points at the kind field."""
    text = app_doc() + "---\n" + HEAD + "kind: Route\nmetadata: {name: r}\nspec: {}\n"
    error = error_of(text)
    assert error.line == 9
    assert "unknown kind 'Route'" in error.message


def test_unknown_field_in_spec_names_its_line() -> None:
    """A misspelt field is refused at its own line."""
    error = error_of(app_doc(extra="  preservehost: true\n"))
    assert error.line == 7
    assert "spec.preservehost: unknown field" in error.message


def test_unknown_field_deep_in_a_rule_names_its_line() -> None:
    """Errors inside lists of rules point at the right line."""
    text = (
        app_doc() + "---\n" + HEAD + "kind: Policy\nmetadata: {name: p}\nspec:\n  app: settlement\n"
        "  rules:\n    - name: a\n    - name: b\n      mfa: {required: true, maxage: 1h}\n"
    )
    error = error_of(text)
    assert error.line == 16
    assert "spec.rules.1.mfa.maxage: unknown field" in error.message


def test_bad_cidr_names_its_line() -> None:
    """A network with host bits set is refused, at the network's line."""
    text = (
        app_doc() + "---\n" + HEAD + "kind: Policy\nmetadata: {name: p}\nspec:\n  app: settlement\n"
        "  rules:\n    - name: office\n      sourceNetworks:\n        - 10.0.0.0/8\n"
        "        - 10.1.2.3/16\n"
    )
    error = error_of(text)
    assert error.line == 17
    assert "invalid CIDR '10.1.2.3/16'" in error.message


def test_bad_duration_names_its_line() -> None:
    """An MFA max age that is not a duration is refused."""
    text = (
        app_doc() + "---\n" + HEAD + "kind: Policy\nmetadata: {name: p}\nspec:\n  app: settlement\n"
        "  rules:\n    - name: ops\n      mfa:\n        maxAge: 12 hours\n"
    )
    error = error_of(text)
    assert error.line == 16
    assert "invalid duration '12 hours'" in error.message


def test_duplicate_name_within_file_names_the_second_document() -> None:
    """Two Apps of one name: the second is the error, and the first is cited."""
    error = error_of(app_doc() + "---\n" + app_doc())
    assert error.line == 8
    assert "duplicate App/settlement (first defined at firm.yaml:1)" in error.message


def test_same_name_of_different_kinds_is_fine() -> None:
    """An App and a Policy may share a name."""
    text = app_doc() + "---\n" + HEAD + "kind: Policy\nmetadata: {name: settlement}\n"
    text += "spec: {app: settlement}\n"
    assert len(parse_manifests(text, "firm.yaml")) == 2


def test_policy_for_unknown_app_is_refused() -> None:
    """A Policy must guard an App of the same file or a known one."""
    text = HEAD + "kind: Policy\nmetadata: {name: p}\nspec: {app: payroll}\n"
    error = error_of(text)
    assert error.line == 1
    assert "app 'payroll'" in error.message
    assert parse_manifests(text, "firm.yaml", known_apps=["payroll"])
    assert parse_manifests(text, "firm.yaml", known_apps=None)


def test_two_apps_on_one_route_are_refused() -> None:
    """Two Apps may not claim the same host and path prefix."""
    clash = app_doc("wiki").replace("wiki.example.tw", "settlement.example.tw")
    error = error_of(app_doc() + "---\n" + clash)
    assert error.line == 8
    assert "claims host settlement.example.tw with path prefix /" in error.message


def test_duplicate_yaml_key_is_refused() -> None:
    """PyYAML would keep the last of two keys; menshen refuses both."""
    error = error_of(app_doc(extra="  title: A\n  title: B\n"))
    assert error.line == 8
    assert "duplicate key 'title' (first on line 7)" in error.message


def test_yaml_aliases_are_refused() -> None:
    """Anchors and aliases are not needed in config and invite billion-laughs files."""
    error = error_of(app_doc(extra="  title: &t A\n  maxBodyBytes: *t\n"))
    assert error.line == 8
    assert "aliases" in error.message


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("  public: true\n", "public apps are reserved"),
        ("  pathPrefix: admin\n", "must start with '/'"),
        ("  pathPrefix: /a/../b\n", "'..' segment"),
        ("  pathPrefix: /a?b\n", "not a canonical path"),
        ("  maxBodyBytes: 0\n", "greater than or equal to 1"),
        ("  maxBodyBytes: '10'\n", "valid integer"),
        ("  preserveHost: 'yes'\n", "valid boolean"),
    ],
)
def test_bad_app_fields_are_refused_at_their_line(extra: str, fragment: str) -> None:
    """Each bad App field is named, with its line."""
    error = error_of(app_doc(extra=extra))
    assert error.line == 7
    assert fragment in error.message


@pytest.mark.parametrize(
    ("hosts", "fragment"),
    [
        ("[Settlement.example.tw]", "must be lower-case"),
        ("[settlement.example.tw:8443]", "must not carry a port"),
        ("[bad_host.example.tw]", "invalid host name"),
        ("[]", "at least 1 item"),
        ("[a.tw, a.tw]", "listed more than once: a.tw"),
    ],
)
def test_bad_hosts_are_refused(hosts: str, fragment: str) -> None:
    """Hosts are lower-case names without ports, at least one, no repeats."""
    text = f"{HEAD}kind: App\nmetadata: {{name: a}}\nspec:\n  hosts: {hosts}\n"
    text += "  upstream: http://10.0.0.5:8080\n"
    error = error_of(text)
    assert error.line == 5
    assert fragment in error.message


@pytest.mark.parametrize(
    ("upstream", "fragment"),
    [
        ("ftp://files:21", "http:// or https://"),
        ("10.0.0.5:8080", "http:// or https://"),
        ("http://:8080", "has no host"),
        ("http://10.0.0.5:99999", "invalid port"),
        ("http://user:pw@10.0.0.5:80", "credentials"),
        ("http://10.0.0.5:80/app", "path, query or fragment"),
    ],
)
def test_bad_upstreams_are_refused(upstream: str, fragment: str) -> None:
    """The upstream is a bare http(s) origin."""
    text = f"{HEAD}kind: App\nmetadata: {{name: a}}\nspec:\n  hosts: [a.tw]\n"
    text += f"  upstream: '{upstream}'\n"
    error = error_of(text)
    assert error.line == 6
    assert fragment in error.message


def test_deny_rule_with_mfa_is_refused() -> None:
    """MFA conditions only make sense on allow rules."""
    text = (
        app_doc() + "---\n" + HEAD + "kind: Policy\nmetadata: {name: p}\nspec:\n  app: settlement\n"
        "  rules:\n    - name: odd\n      effect: deny\n      mfa: {required: true}\n"
    )
    error = error_of(text)
    assert error.line == 14
    assert "deny rule cannot carry MFA" in error.message


@pytest.mark.parametrize(
    ("document", "line", "fragment"),
    [
        ("- just\n- a list\n", 1, "must be a mapping"),
        (f"{HEAD}kind: App\nmetadata: {{name: a}}\n", 1, "missing 'spec'"),
        ("apiVersion: v1\nkind: App\nmetadata: {name: a}\nspec: {}\n", 1, "apiVersion must be"),
        (f"{HEAD}kind: App\nmetadata: {{name: Bad}}\nspec: {{}}\n", 3, "invalid name 'Bad'"),
        (f"{HEAD}kind: App\nmetadata: {{name: a, ns: x}}\nspec: {{}}\n", 3, "exactly one field"),
        (f"{HEAD}kind: Group\nmetadata: {{name: a}}\nspec: {{}}\nstatus: {{}}\n", 5, "'status'"),
        (f"{HEAD}kind: App\nmetadata: {{name: a}}\nspec:\n", 4, "spec.hosts: required"),
    ],
)
def test_bad_envelopes_are_refused(document: str, line: int, fragment: str) -> None:
    """apiVersion, kind, metadata.name and spec are required, and nothing else."""
    error = error_of(document)
    assert error.line == line
    assert fragment in error.message


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>#'\" \n\t/.%0123456789")), max_size=80))
def test_parser_raises_only_config_errors_on_garbage(text: str) -> None:
    """Whatever the bytes, parsing either succeeds or raises ConfigError."""
    problem: ConfigError | None = None
    try:
        parse_manifests(text, "fuzz.yaml")
    except ConfigError as error:
        problem = error
    assert problem is None or problem.source == "fuzz.yaml"


@settings(max_examples=100, deadline=None)
@given(
    field=st.sampled_from(["hosts", "pathPrefix", "upstream", "title", "maxBodyBytes", "x"]),
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=12),
        st.lists(st.text(), max_size=2),
    ),
)
def test_app_parser_raises_only_config_errors_on_odd_values(field: str, value: object) -> None:
    """Any value in any App field parses or raises ConfigError, never anything else."""
    fields: dict[str, object] = {"hosts": ["a.tw"], "upstream": "http://10.0.0.5:8080"}
    fields[field] = value
    body = "".join(f"  {key}: {json.dumps(item)}\n" for key, item in fields.items())
    problem: ConfigError | None = None
    try:
        parse_manifests(f"{HEAD}kind: App\nmetadata: {{name: a}}\nspec:\n{body}", "odd.yaml")
    except ConfigError as error:
        problem = error
    assert problem is None or problem.line is not None


@pytest.mark.parametrize("text", ["\x08", "kind: App\x07\n", "\x00"])
def test_control_characters_are_a_clear_config_error(text: str) -> None:
    """A character YAML forbids is a ConfigError naming the file, never a raw reader error."""
    with pytest.raises(ConfigError) as caught:
        parse_manifests(text, "firm.yaml")
    assert "firm.yaml" in str(caught.value)
