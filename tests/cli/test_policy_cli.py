"""`menshen policy explain|who-can|diff|lint|test` on the reference firm's policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from menshen.cli.main import app

runner = CliRunner()
EXAMPLE = Path(__file__).parents[2] / "examples" / "formosa-pay-policy.yaml"
POLICY_TEST = """\
apiVersion: menshen.dev/v1
kind: PolicyTest
metadata: {name: settlement-expectations}
spec:
  at: "2026-01-06T10:00:00+08:00"
  cases:
    - {user: carol, app: settlement, path: /payouts, expect: deny, rule: SET-001}
    - name: alice at the office
      user: alice
      app: settlement
      path: /reports
      ip: 10.20.3.4
      mfa: webauthn
      mfaAge: 5m
      device: {trust: managed, posture: {diskEncrypted: true}}
      expect: allow
"""


def menshen(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(
        app, ["--data-dir", str(data_dir), "--tenant", "acme", *args], input=stdin
    )
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example policy applied, with alice in finance-ops and carol in contractors."""
    data = tmp_path_factory.mktemp("policy-cli") / "data"
    code, out = menshen(data, "apply", "-f", str(EXAMPLE))
    assert code == 0, out
    for name, group in (("alice", "finance-ops"), ("carol", "contractors")):
        code, out = menshen(
            data,
            "user",
            "add",
            name,
            "--email",
            f"{name}@formosa-pay.tw",
            "--group",
            group,
            "--password-stdin",
            stdin="a-long-enough-password\n",
        )
        assert code == 0, out
    return data


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_explain_prints_each_rule_and_the_decision(data_dir: Path) -> None:
    """carol is refused by SET-001, and the trace names every rule of settlement."""
    code, out = menshen(
        data_dir,
        "policy",
        "explain",
        "--user",
        "carol",
        "--app",
        "settlement",
        "--path",
        "/payouts",
    )
    assert code == 0, out
    assert "carol (groups: contractors)" in out
    assert "deny rule 'settlement-access/contractors-never': matches" in out
    assert "decision: deny by rule 'settlement-access/contractors-never'" in out


def test_explain_takes_mfa_device_and_risk(data_dir: Path) -> None:
    """A risky session is refused by SET-002 whatever else it has."""
    code, out = menshen(
        data_dir,
        "policy",
        "explain",
        "--user",
        "alice",
        "--app",
        "settlement",
        "--mfa",
        "webauthn",
        "--mfa-age",
        "10m",
        "--device",
        "managed",
        "--risk",
        "80",
        "--ip",
        "10.20.3.4",
    )
    assert code == 0, out
    assert "your last MFA was WebAuthn 10 min ago" in out
    assert "decision: deny by rule 'settlement-access/risky-sessions-out'" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", "nobody", "--app", "settlement"), "no user 'nobody'"),
        (("--user", "alice", "--app", "nowhere"), "no app 'nowhere'"),
        (("--user", "alice", "--app", "settlement", "--mfa", "sms"), "--mfa must be"),
        (("--user", "alice", "--app", "settlement", "--mfa-age", "soon"), "invalid duration"),
    ],
)
def test_explain_refuses_unknown_names_with_exit_2(
    data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    """Unknown user or app, bad MFA method or age: a clear error, exit status 2."""
    code, out = menshen(data_dir, "policy", "explain", *args)
    assert code == 2
    assert message in out


def test_who_can_lists_members_and_the_conditions_left(data_dir: Path) -> None:
    """Stored policy and directory: the group, alice through it, and what they still need."""
    code, out = menshen(data_dir, "policy", "who-can", "--app", "settlement", "--path", "/payouts")
    assert code == 0, out
    assert "group finance-ops: rule settlement-access/finance-ops-at-the-office (SET-010)" in out
    assert "user alice (via group finance-ops)" in out
    assert "WebAuthn within 15 minutes" in out
    assert "denied by 'settlement-access/risky-sessions-out' when a risk score above 70" in out
    code, out = menshen(data_dir, "policy", "who-can", "--app", "nowhere")
    assert code == 2


def test_who_can_reads_files_and_says_when_nobody_can(tmp_path: Path) -> None:
    """With -f the store is not needed; a method no rule allows reaches nobody."""
    code, out = menshen(
        tmp_path / "none",
        "policy",
        "who-can",
        "--app",
        "partner-api",
        "--path",
        "/v1/reports",
        "--method",
        "DELETE",
        "-f",
        str(EXAMPLE),
    )
    assert code == 0, out
    assert "nobody" in out
    assert not (tmp_path / "none").exists()


def test_diff_prints_gains_and_losses(tmp_path: Path) -> None:
    """Moving the wiki from contractors to auditors: contractors lose, auditors gain."""
    text = EXAMPLE.read_text(encoding="utf-8")
    new = write(
        tmp_path,
        "new.yaml",
        text.replace(
            "groups: [staff, finance-ops, contractors]", "groups: [staff, finance-ops, auditors]"
        ),
    )
    code, out = menshen(tmp_path / "none", "policy", "diff", str(EXAMPLE), str(new))
    assert code == 0, out
    assert "- loss   group contractors: wiki GET /" in out
    assert "+ gain   group auditors: wiki GET /" in out
    assert "now: allowed with a second factor within 12 hours" in out
    assert "gained," in out
    code, out = menshen(tmp_path / "none", "policy", "diff", str(EXAMPLE), str(EXAMPLE))
    assert code == 0
    assert "0 gained, 0 lost, 0 changed" in out


def test_diff_against_the_store_shows_what_apply_would_change(
    data_dir: Path, tmp_path: Path
) -> None:
    """A file holding only a new Policy is compared with the applied one it replaces."""
    policy = write(
        tmp_path,
        "wiki.yaml",
        "apiVersion: menshen.dev/v1\nkind: Policy\nmetadata: {name: wiki-access}\nspec:\n"
        "  app: wiki\n  rules:\n    - name: staff-only\n      groups: [staff]\n"
        "      mfa: {required: true, maxAge: 12h}\n",
    )
    code, out = menshen(data_dir, "policy", "diff", "--against-store", str(policy))
    assert code == 0, out
    assert "- loss   group contractors: wiki" in out
    assert "- loss   group finance-ops: wiki" in out
    assert "gain" not in out.replace("0 gained", "")
    assert menshen(data_dir, "policy", "diff", str(policy))[0] == 2


def test_lint_warns_and_fails_only_when_strict(tmp_path: Path) -> None:
    """The example lints clean; an open restricted rule warns, and --strict exits 1."""
    code, out = menshen(tmp_path / "none", "policy", "lint", "-f", str(EXAMPLE))
    assert (code, "0 warning(s)" in out) == (0, True)
    risky = write(
        tmp_path,
        "risky.yaml",
        EXAMPLE.read_text(encoding="utf-8")
        + "---\napiVersion: menshen.dev/v1\nkind: Policy\nmetadata: {name: payouts-open}\n"
        "spec:\n  app: settlement\n  rules:\n    - name: everyone-reads-payouts\n"
        "      paths: [/payouts]\n",
    )
    code, out = menshen(tmp_path / "none", "policy", "lint", "-f", str(risky))
    assert code == 0, out
    assert "rule 'payouts-open/everyone-reads-payouts' (restricted-without-mfa)" in out
    assert "(wildcard-subject)" in out
    code, _ = menshen(tmp_path / "none", "policy", "lint", "--strict", "-f", str(risky))
    assert code == 1


def test_lint_reads_the_store_with_its_memberships(data_dir: Path) -> None:
    """The applied example has members for its groups, except staff: no false warning."""
    code, out = menshen(data_dir, "policy", "lint", "--strict")
    assert code == 0, out
    assert "0 warning(s)" in out


def test_policy_tests_pass_against_files(tmp_path: Path) -> None:
    """Expectations next to the policy pass (exit 0); group members come from the files."""
    tests = write(tmp_path, "settlement.test.yaml", POLICY_TEST)
    text = EXAMPLE.read_text(encoding="utf-8")
    for group, member in (("finance-ops", "alice"), ("contractors", "carol")):
        head = f"metadata: {{name: {group}}}\nspec:\n"
        text = text.replace(head, f"{head}  members: [{member}]\n")
    policy = write(tmp_path, "policy.yaml", text)
    code, out = menshen(tmp_path / "none", "policy", "test", "-f", str(policy), "-f", str(tests))
    assert code == 0, out
    assert f"PASS carol GET settlement/payouts → deny ({tests}:7)" in out
    assert "PASS alice at the office" in out
    assert "2 passed, 0 failed" in out


def test_failing_policy_tests_explain_and_exit_1(tmp_path: Path) -> None:
    """Without a directory alice is in no group: her case fails, with the trace."""
    tests = write(tmp_path, "settlement.test.yaml", POLICY_TEST)
    code, out = menshen(tmp_path / "none", "policy", "test", "-f", str(EXAMPLE), "-f", str(tests))
    assert code == 1, out
    assert "FAIL alice at the office" in out
    assert "expected allow, got deny" in out
    assert "requires group finance-ops; you are in no group" in out
    assert "0 passed, 2 failed" in out


def test_policy_tests_run_against_the_store(data_dir: Path, tmp_path: Path) -> None:
    """With only test files, the applied policy and the store's users are used."""
    tests = write(tmp_path, "t.yaml", POLICY_TEST)
    code, out = menshen(data_dir, "policy", "test", "-f", str(tests))
    assert code == 0, out
    assert "2 passed, 0 failed" in out


def test_bad_policy_test_files_name_file_and_line(tmp_path: Path) -> None:
    """A bad case, a file mixing kinds, or no test at all: exit 2 with where."""
    bad = write(tmp_path, "bad.yaml", POLICY_TEST.replace("expect: deny,", "expect: nope,"))
    code, out = menshen(tmp_path / "none", "policy", "test", "-f", str(bad))
    assert code == 2
    assert f"{bad}:7:" in out.replace("\n", "")
    mixed = write(
        tmp_path, "mixed.yaml", EXAMPLE.read_text(encoding="utf-8") + "---\n" + POLICY_TEST
    )
    code, out = menshen(tmp_path / "none", "policy", "test", "-f", str(mixed))
    assert code == 2
    assert "files of their own" in out
    code, out = menshen(tmp_path / "none", "policy", "test", "-f", str(EXAMPLE))
    assert code == 2
    assert "no PolicyTest document" in out
