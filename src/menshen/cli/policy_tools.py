"""``menshen policy explain|who-can|diff|lint|test``: read, review and test a tenant's policy.

The analysis itself is pure (``menshen.policy.analysis``, ``diff``, ``lint``,
``expectations``); this module only loads policies (from files or the store), prints, and
chooses exit codes: 2 for bad input, 1 for lint warnings under ``--strict`` and for failed
policy tests (so CI stops), 0 otherwise. Registered when ``menshen.cli.main`` imports it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from menshen.app import Platform
from menshen.cli.context import Options, console, fail, opened
from menshen.cli.policy import policy_app
from menshen.clock import SystemClock
from menshen.errors import ConfigError, MenshenError
from menshen.manifest.load import (
    compile_tenant_policy,
    load_tenant_config,
    stored_apps,
    stored_ip_lists,
    stored_policies,
)
from menshen.manifest.model import API_VERSION, AppSpec, GroupSpec, IPListSpec, PolicySpec
from menshen.manifest.parse import MAX_BYTES, locate, parse_manifests
from menshen.manifest.yamltext import LineMapping, load_documents, located
from menshen.policy.analysis import who_can
from menshen.policy.compile import CompiledPolicy
from menshen.policy.conditions import TRUST_LEVELS
from menshen.policy.diff import diff_access
from menshen.policy.duration import parse_duration
from menshen.policy.expectations import (
    DEFAULT_IP,
    Expectation,
    ExpectationProblem,
    access_request,
    parse_expectations,
    run_expectations,
)
from menshen.policy.explain import explain
from menshen.policy.lint import lint
from menshen.policy.model import Device, Effect
from menshen.policy.residual import Probe

TEST_KIND = "PolicyTest"
FILES_TENANT = "files"
MFA_CHOICES = ("none", "totp", "webauthn", "recovery_code")
COLOURS = {"allow": "green", "deny": "red", "step_up": "yellow"}

FilesOpt = Annotated[
    list[Path] | None,
    typer.Option("--file", "-f", help="Read the policy from these files, not the store."),
]


@dataclass(frozen=True, slots=True)
class Loaded:
    """A compiled policy with what analysis needs of the directory.

    ``directory`` maps user names to groups; ``members`` groups to their members (only
    groups whose membership is known); ``apps`` every app name defined.
    """

    policy: CompiledPolicy
    directory: dict[str, frozenset[str]] = field(default_factory=dict)
    members: dict[str, frozenset[str]] = field(default_factory=dict)
    apps: frozenset[str] = frozenset()


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_root().obj
    return options if isinstance(options, Options) else Options(None, None, None)


def say(text: str, style: str = "") -> None:
    """Print one line as is (no markup, no wrapping), optionally styled."""
    shown = escape(text)
    console.print(f"[{style}]{shown}[/]" if style else shown, soft_wrap=True, highlight=False)


@contextmanager
def _clear_errors() -> Iterator[None]:
    """A MenshenError (a bad file, an unknown name) becomes a message and exit status 2."""
    try:
        yield
    except MenshenError as exc:
        raise fail(escape(str(exc))) from None


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(exc.strerror or "cannot read", source=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", source=str(path)) from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ConfigError(f"file is larger than {MAX_BYTES // 1024} KiB", source=str(path))
    return text


# -- loading --------------------------------------------------------------------------------
def from_store(platform: Platform) -> Loaded:
    """The tenant's applied policy, users and group memberships."""
    tenant = platform.store.tenant(platform.settings.tenant)
    config = load_tenant_config(tenant)
    groups_of: dict[str, set[str]] = {user.username: set() for user in tenant.users.list()}
    members: dict[str, frozenset[str]] = {}
    for group in tenant.groups.list():
        names = frozenset(user.username for user in tenant.groups.members(group.id))
        members[group.name] = names
        for name in names:
            groups_of.setdefault(name, set()).add(group.name)
    directory = {name: frozenset(groups) for name, groups in groups_of.items()}
    apps = frozenset(app.name for app in config.apps) | frozenset(config.policy.apps)
    return Loaded(config.policy, directory, members, apps)


def specs_of(paths: Sequence[Path]) -> list[Any]:
    """Every spec of the manifest files ``paths`` (policy test files are skipped)."""
    specs: list[Any] = []
    for path in paths:
        text = _read(path)
        if _test_documents(text, str(path)) is None:
            specs.extend(m.spec for m in parse_manifests(text, str(path), known_apps=None))
    return specs


def from_specs(tenant_id: str, specs: Sequence[Any]) -> Loaded:
    """Compile App, IPList and Policy specs; Group specs give the membership they list."""
    policies = [spec for spec in specs if isinstance(spec, PolicySpec)]
    apps = [spec for spec in specs if isinstance(spec, AppSpec)]
    lists = [spec for spec in specs if isinstance(spec, IPListSpec)]
    policy = compile_tenant_policy(tenant_id, policies, apps, lists)
    members: dict[str, frozenset[str]] = {}
    groups_of: dict[str, set[str]] = {}
    for spec in specs:
        if isinstance(spec, GroupSpec) and spec.members is not None:
            members[spec.name] = frozenset(spec.members)
            for name in spec.members:
                groups_of.setdefault(name, set()).add(spec.name)
    directory = {name: frozenset(groups) for name, groups in groups_of.items()}
    names = frozenset(app.name for app in apps) | frozenset(policy.apps)
    return Loaded(policy, directory, members, names)


def merged_with_store(platform: Platform, specs: Sequence[Any]) -> Loaded:
    """What the store would hold after ``menshen apply`` of ``specs``: file objects replace
    stored ones of the same kind and name."""
    tenant = platform.store.tenant(platform.settings.tenant)
    stored: list[Any] = [*stored_apps(tenant), *stored_ip_lists(tenant), *stored_policies(tenant)]
    replaced = {(type(spec), spec.name) for spec in specs}
    kept = [spec for spec in stored if (type(spec), spec.name) not in replaced]
    loaded = from_specs(platform.settings.tenant, [*kept, *specs])
    current = from_store(platform)
    return Loaded(loaded.policy, current.directory, current.members, loaded.apps | current.apps)


@contextmanager
def policy_source(ctx: typer.Context, files: Sequence[Path] | None) -> Iterator[Loaded]:
    """The policy of ``files`` if any are given, else the tenant's applied policy."""
    if files:
        with _clear_errors():
            loaded = from_specs(FILES_TENANT, specs_of(files))
        yield loaded
        return
    with opened(_options(ctx)) as platform:
        yield from_store(platform)


def _test_documents(text: str, source: str) -> list[tuple[int, LineMapping]] | None:
    """The PolicyTest documents of a file, or None if it holds none (a manifest file)."""
    documents = list(load_documents(text, source))
    tests = [
        (line, doc)
        for line, doc in documents
        if isinstance(doc, LineMapping) and doc.get("kind") == TEST_KIND
    ]
    if not tests:
        return None
    if len(tests) != len(documents):
        line = next(line for line, doc in documents if (line, doc) not in tests)
        raise ConfigError(
            "keep PolicyTest documents in files of their own (this one mixes them with "
            "other kinds)",
            source=source,
            line=line,
        )
    return tests


def read_expectations(path: Path) -> tuple[Expectation, ...] | None:
    """The cases of a PolicyTest file; None for a manifest file."""
    source = str(path)
    tests = _test_documents(_read(path), source)
    if tests is None:
        return None
    found: list[Expectation] = []
    for line, document in tests:
        if document.get("apiVersion") != API_VERSION:
            raise ConfigError(f"apiVersion must be {API_VERSION!r}", source=source, line=line)
        unknown = sorted(set(document) - {"apiVersion", "kind", "metadata", "spec"})
        if unknown or "spec" not in document:
            what = f"unknown field {unknown[0]!r}" if unknown else "missing 'spec'"
            raise ConfigError(
                f"{what} (expected apiVersion, kind, metadata, spec)", source=source, line=line
            )

        def where(loc: tuple[str | int, ...], doc: LineMapping = document) -> str:
            return f"{source}:{locate(doc, loc)[0]}"

        try:
            found.extend(parse_expectations(document["spec"], where))
        except ExpectationProblem as exc:
            at_line, column = locate(document, exc.loc)
            spot = ".".join(str(part) for part in ("spec", *exc.loc))
            raise located(f"PolicyTest: {spot}: {exc.message}", source, at_line, column) from None
    return tuple(found)


# -- explain --------------------------------------------------------------------------------
@policy_app.command("explain")
def explain_cmd(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="User name.")],
    app: Annotated[str, typer.Option("--app", help="App name.")],
    path: Annotated[str, typer.Option("--path", help="Canonical request path.")] = "/",
    method: Annotated[str, typer.Option("--method", help="HTTP method.")] = "GET",
    ip: Annotated[str, typer.Option("--ip", help="Client address.")] = DEFAULT_IP,
    mfa: Annotated[str, typer.Option("--mfa", help="totp, webauthn, recovery_code or none.")] = (
        "none"
    ),
    mfa_age: Annotated[
        str | None, typer.Option("--mfa-age", help="How long ago the MFA was (10m).")
    ] = None,
    risk: Annotated[float, typer.Option("--risk", help="Live risk score, 0-100.")] = 0.0,
    device: Annotated[
        str | None, typer.Option("--device", help="Trust of the device (unknown … compliant).")
    ] = None,
) -> None:
    """Decide one hypothetical request against the applied policy, rule by rule."""
    if mfa not in MFA_CHOICES:
        raise fail(f"--mfa must be one of {', '.join(MFA_CHOICES)}")
    if device is not None and device not in TRUST_LEVELS:
        raise fail(f"--device must be one of {', '.join(TRUST_LEVELS)}")
    try:
        age = timedelta(0) if mfa_age is None else parse_duration(mfa_age)
    except ValueError as exc:
        raise fail(str(exc)) from None
    with opened(_options(ctx)) as platform:
        loaded = from_store(platform)
        if user not in loaded.directory:
            raise fail(f"no user {user!r} in tenant {platform.settings.tenant}")
        if app not in loaded.apps:
            raise fail(f"no app {app!r}; known apps: {', '.join(sorted(loaded.apps)) or 'none'}")
        case = Expectation(
            name="",
            kind="user",
            username=user,
            groups=None,
            app=app,
            expect=Effect.ALLOW,  # not judged: explain only shows the decision
            path=path,
            method=method.upper(),
            ip=ip,
            mfa=None if mfa == "none" else mfa,
            mfa_age=age,
            device=None if device is None else Device("cli-device", device),
            risk=risk,
        )
        request = access_request(
            loaded.policy.tenant_id, case, loaded.directory[user], platform.clock.now()
        )
        lines = explain(loaded.policy, request)
    for line in lines[:-1]:
        say(line)
    decision = loaded.policy.decide(request)
    say(lines[-1], f"bold {COLOURS[decision.effect.value]}")


# -- who-can --------------------------------------------------------------------------------
@policy_app.command("who-can")
def who_can_cmd(
    ctx: typer.Context,
    app: Annotated[str, typer.Option("--app", help="App name.")],
    path: Annotated[str | None, typer.Option("--path", help="Canonical path.")] = None,
    method: Annotated[str | None, typer.Option("--method", help="HTTP method.")] = None,
    files: FilesOpt = None,
) -> None:
    """List who some rule could allow to reach an app, and the conditions still to meet."""
    if path is not None and not path.startswith("/"):
        raise fail(f"--path {path!r} must start with '/'")
    probe = Probe(app, path, None if method is None else method.upper())
    with policy_source(ctx, files) as loaded:
        if app not in loaded.apps:
            raise fail(f"no app {app!r}; known apps: {', '.join(sorted(loaded.apps)) or 'none'}")
        found = who_can(loaded.policy, probe, loaded.directory)
    where = f"{app} {probe.method or 'any method'} {path or 'any path'}"
    if not found:
        say(f"nobody: no rule of app {app} could allow {where}", "bold")
        return
    say(f"who can reach {where}:", "bold")
    for access in found:
        via = f" (via {access.via})" if access.via else ""
        state = "  [always denied]" if access.blocked else ""
        say(f"  {access.subject}{via}: rule {access.rule} ({access.rule_id}){state}")
        say("      needs: " + ("; ".join(access.conditions) or "nothing more"))
        for step_up in access.step_ups:
            say(f"      step-up: {step_up}")
        for deny in access.denied_when:
            say(f"      denied by {deny}")
        for deny in access.denied_by:
            say(f"      always denied by {deny}", "red")


# -- diff -----------------------------------------------------------------------------------
@policy_app.command("diff")
def diff_cmd(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="OLD.yaml NEW.yaml, or NEW.yaml.")],
    against_store: Annotated[
        bool, typer.Option("--against-store", help="Compare NEW.yaml with the applied policy.")
    ] = False,
) -> None:
    """Show which (subject, app, path, method) gain or lose access from OLD to NEW."""
    if len(files) != (1 if against_store else 2):
        raise fail("give OLD.yaml NEW.yaml, or NEW.yaml with --against-store")
    if against_store:
        with opened(_options(ctx)) as platform:
            before = from_store(platform).policy
            after = merged_with_store(platform, specs_of(files)).policy
    else:
        with _clear_errors():
            before = from_specs(FILES_TENANT, specs_of(files[:1])).policy
            after = from_specs(FILES_TENANT, specs_of(files[1:])).policy
    changes = diff_access(before, after)
    marks = {"gain": ("+", "green"), "loss": ("-", "red"), "change": ("~", "yellow")}
    for change in changes:
        mark, colour = marks[change.kind]
        say(
            f"{mark} {change.kind:6} {change.subject}: {change.app} {change.method} {change.path}",
            colour,
        )
        for line in change.before:
            say(f"      was: {line}")
        for line in change.after:
            say(f"      now: {line}")
    counts = {kind: sum(1 for c in changes if c.kind == kind) for kind in marks}
    say(f"{counts['gain']} gained, {counts['loss']} lost, {counts['change']} changed", "bold")


# -- lint -----------------------------------------------------------------------------------
@policy_app.command("lint")
def lint_cmd(
    ctx: typer.Context,
    files: FilesOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when there are warnings.")] = (
        False
    ),
) -> None:
    """Warn about rules that never match, shadowed rules, and weak rules on restricted data."""
    with policy_source(ctx, files) as loaded:
        warnings = lint(loaded.policy, loaded.members)
    for warning in warnings:
        say(f"warning: {warning}", "yellow")
    say(f"{len(warnings)} warning(s)", "bold")
    if warnings and strict:
        raise typer.Exit(1)


# -- test -----------------------------------------------------------------------------------
@policy_app.command("test")
def test_cmd(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Option(
            "--file", "-f", help="PolicyTest files, and the policy files to test (else the store)."
        ),
    ],
) -> None:
    """Run the expected decisions of PolicyTest files; exit 1 if any fails (for CI)."""
    cases: list[Expectation] = []
    manifests: list[Path] = []
    with _clear_errors():
        for path in files:
            found = read_expectations(path)
            if found is None:
                manifests.append(path)
            else:
                cases.extend(found)
    if not cases:
        raise fail("no PolicyTest document in the files given")
    if manifests:
        with _clear_errors():
            loaded = from_specs(FILES_TENANT, specs_of(manifests))
        now = SystemClock().now()
    else:
        with opened(_options(ctx)) as platform:
            loaded = from_store(platform)
            now = platform.clock.now()
    results = run_expectations(loaded.policy, tuple(cases), now=now, directory=loaded.directory)
    for result in results:
        case = result.expectation
        where = f" ({case.where})" if case.where else ""
        if result.passed:
            say(f"PASS {case.title()}{where}", "green")
            continue
        got = result.decision
        by = f" by rule '{got.rule}'" if got.rule else ""
        wanted = case.expect.value + (f" by rule '{case.rule}'" if case.rule else "")
        say(f"FAIL {case.title()}{where}: expected {wanted}, got {got.effect.value}{by}", "red")
        for line in result.explanation:
            say(f"    {line}")
    failed = sum(1 for result in results if not result.passed)
    say(f"{len(results) - failed} passed, {failed} failed", "bold")
    if failed:
        raise typer.Exit(1)
