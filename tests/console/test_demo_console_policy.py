"""The demo's console App and policy: admins with fresh MFA only, and lint-clean."""

from __future__ import annotations

from menshen.demo.firm import demo_manifest
from menshen.manifest.parse import parse_manifests
from menshen.policy.lint import lint
from tests.policy.test_policy_analysis import policy_of

URLS = ("http://127.0.0.1:9001", "http://127.0.0.1:9002")


def test_console_app_is_added_only_when_asked() -> None:
    """Without a console URL the firm's config is what it always was."""
    plain = demo_manifest(*URLS, ("apps.example",))
    assert "console" not in plain
    names = {m.name for m in parse_manifests(plain, "<demo>")}
    with_console = demo_manifest(*URLS, ("apps.example",), "http://127.0.0.1:9003")
    more = {m.name for m in parse_manifests(with_console, "<demo>")}
    assert more - names == {"console", "console-access"}


def test_console_policy_requires_admins_with_fresh_mfa_and_lints_clean() -> None:
    """The console rule names the admins group, requires MFA, and lint finds nothing."""
    text = demo_manifest(*URLS, ("apps.example",), "http://127.0.0.1:9003")
    assert "groups: [admins]" in text.split("name: console-access")[1]
    assert "mfa: {required: true, maxAge: 12h}" in text.split("name: console-access")[1]
    assert lint(policy_of(text)) == ()
