"""The per-request guard, without sockets: every outcome from in-memory state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from menshen.access.directory import Directory, Principal, Route
from menshen.access.guard import Guard, LiveAttributes
from menshen.access.pages import Pages
from menshen.access.returnto import ReturnSigner
from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.crypto import SecretBox
from menshen.events.model import AuditEvent
from menshen.gateway.contract import Forward, RequestHead, Respond, Upstream, Verdict
from menshen.policy.compile import compile_policies
from menshen.policy.model import AppPolicy, Effect, Rule, Subject
from menshen.sessions.cookies import HTTP_COOKIE
from menshen.sessions.service import SessionService, SessionTimeouts
from menshen.store.records import SessionRecord, UserRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
UPSTREAM = Upstream("127.0.0.1", 9001)


class World:
    def __init__(
        self,
        store: SqlStore,
        audit_backlog: Callable[[], int] = lambda: 0,
        live: LiveAttributes | None = None,
    ) -> None:
        self.clock = FixedClock()
        self.events: list[AuditEvent] = []
        self.sessions = SessionService(store, self.clock, SessionTimeouts())
        now = self.clock.now()
        users = store.tenant("t1").users
        for uid, name in (("u-ann", "ann"), ("u-ben", "ben")):
            users.add(UserRecord("t1", uid, name, f"{name}@x.example", name, None, False, now, now))
        keyring = Keyring(store.tenant("t1"), SecretBox(b"k" * 32), self.clock)
        keyring.ensure_key()
        self.guard = Guard(
            sessions=self.sessions,
            minters={"t1": AssertionMinter(keyring, "menshen", self.clock)},
            pages=Pages({"t1": "Test firm"}),
            signer=ReturnSigner(b"s" * 32),
            publish=self.events.append,
            clock=self.clock,
            own_endpoints=lambda head: Respond(299),
            audit_backlog=audit_backlog,
            live=live,
        )
        policy = compile_policies(
            "t1",
            [
                AppPolicy(
                    "ledger",
                    (
                        Rule("no-exports", Effect.DENY, path_prefixes=("/ledger/export",)),
                        Rule(
                            "ops",
                            groups=frozenset({"ops"}),
                            mfa_required=True,
                            mfa_max_age=timedelta(hours=1),
                        ),
                    ),
                )
            ],
        )
        self.principals = {
            ("t1", "u-ann"): _principal("u-ann", "ann", {"ops"}, mfa_required=True),
            ("t1", "u-ben"): _principal("u-ben", "ben", {"guests"}),
        }
        routes = [Route("t1", "ledger", "Ledger", "apps.example", "/ledger", UPSTREAM)]
        self.guard.set_directory(Directory(routes, self.principals, {"t1": policy}, {"t1": "T"}))

    def login(self, user_id: str, level: str = "mfa") -> str:
        made = asyncio.run(
            self.sessions.create(
                "t1",
                user_id,
                user_agent_family="Chrome/Linux",
                ip="10.0.0.5",
                auth_level=level,
                mfa_method="totp" if level == "mfa" else None,
                mfa_at=self.clock.now() if level == "mfa" else None,
            )
        )
        return made.token

    def check(
        self,
        path: str,
        token: str | None = None,
        *,
        accept: str = "text/html",
        host: str = "apps.example",
    ) -> Verdict:
        headers = [("user-agent", UA), ("accept", accept)]
        if token is not None:
            headers.append(("cookie", f"{HTTP_COOKIE}={token}; theme=dark"))
        head = RequestHead(
            method="GET",
            path=path,
            query="",
            host=host,
            port=80,
            scheme="http",
            headers=tuple(headers),
            client_ip="10.0.0.5",
            peer_ip="10.0.0.5",
        )
        return self.guard.check(head)


def _principal(uid: str, name: str, groups: set[str], *, mfa_required: bool = False) -> Principal:
    return Principal(
        subject=Subject(uid, name, f"{name}@x.example", frozenset(groups)),
        display_name=name,
        disabled=False,
        mfa_required=mfa_required,
        mfa_enrolled=mfa_required,
        groups_header=",".join(sorted(groups)),
    )


@pytest.fixture
def world(sqlite_store: SqlStore) -> World:
    return World(sqlite_store)


def test_allowed_request_is_forwarded_with_identity(world: World) -> None:
    """Ann, in ops with fresh MFA, is forwarded with an assertion and without our cookie."""
    verdict = world.check("/ledger/books", world.login("u-ann"))
    assert isinstance(verdict, Forward)
    headers = dict(verdict.add_headers)
    assert headers["x-menshen-user"] == "ann"
    assert headers["x-menshen-assertion"].count(".") == 2
    assert HTTP_COOKIE in verdict.strip_cookies
    assert verdict.session_id is not None
    assert world.events[-1].kind == "access.allow"


def test_deny_rule_gives_403_with_reasons(world: World) -> None:
    """A matching deny rule wins; the browser gets the reasons page."""
    verdict = world.check("/ledger/export/all", world.login("u-ann"))
    assert isinstance(verdict, Respond)
    assert verdict.status == 403
    assert b'id="reasons"' in verdict.body
    assert world.events[-1].kind == "access.deny"


def test_no_matching_rule_is_denied_as_json_for_apis(world: World) -> None:
    """Ben's group has no rule: a JSON 403 problem for an API client."""
    verdict = world.check(
        "/ledger/books", world.login("u-ben", "password"), accept="application/json"
    )
    assert isinstance(verdict, Respond)
    assert verdict.status == 403
    assert (("content-type", "application/problem+json")) in verdict.headers


def test_owed_mfa_redirects_to_the_second_factor(world: World) -> None:
    """A password-only session of an MFA group is sent to /.menshen/mfa, never forwarded."""
    verdict = world.check("/ledger/books", world.login("u-ann", "password"))
    assert isinstance(verdict, Respond)
    assert verdict.status == 302
    assert dict(verdict.headers)["location"].startswith("/.menshen/mfa?rd=%2Fledger%2Fbooks&sig=")


def test_stale_mfa_is_a_step_up(world: World) -> None:
    """Policy wants MFA; when the session's MFA is stale the guard answers step-up."""
    token = world.login("u-ann")
    world.clock.advance(30 * 60)
    assert isinstance(world.check("/ledger/books", token), Forward)
    world.clock.advance(45 * 60)
    browser = world.check("/ledger/books", token)
    api = world.check("/ledger/books", token, accept="application/json")
    assert isinstance(browser, Respond)
    assert isinstance(api, Respond)
    assert browser.status == 302
    assert dict(browser.headers)["location"].startswith("/.menshen/mfa?")
    assert api.status == 401
    assert b"step-up" in api.body
    assert world.events[-1].kind == "access.step_up"


def test_no_cookie_redirects_browsers_and_401s_apis(world: World) -> None:
    """No session: browsers go to sign in, API clients get a 401 problem."""
    browser = world.check("/ledger/books")
    api = world.check("/ledger/books", accept="*/*")
    assert isinstance(browser, Respond)
    assert isinstance(api, Respond)
    assert browser.status == 302
    assert api.status == 401


def test_disabled_user_is_refused_at_once(world: World) -> None:
    """A user disabled in the directory snapshot loses access on the next request."""
    token = world.login("u-ann")
    enabled = world.principals[("t1", "u-ann")]
    world.principals[("t1", "u-ann")] = Principal(enabled.subject, "ann", True, True, True, "ops")
    old = world.guard.directory
    policy = old.policy("t1")
    assert policy is not None
    world.guard.set_directory(Directory(old.routes(), world.principals, {"t1": policy}, {}))
    verdict = world.check("/ledger/books", token)
    assert isinstance(verdict, Respond)
    assert verdict.status == 302


def test_unknown_host_and_unrouted_path_are_404(world: World) -> None:
    """Nothing is served for hosts or paths no app claims."""
    token = world.login("u-ann")
    for verdict in (world.check("/ledger/", token, host="other.example"), world.check("/x", token)):
        assert isinstance(verdict, Respond)
        assert verdict.status == 404


def test_app_without_policy_is_denied(world: World) -> None:
    """An app with no policy at all is default-deny."""
    old = world.guard.directory
    world.guard.set_directory(Directory(old.routes(), world.principals, {}, {"t1": "T"}))
    verdict = world.check("/ledger/books", world.login("u-ann"))
    assert isinstance(verdict, Respond)
    assert verdict.status == 403


def test_own_paths_go_to_the_own_endpoints(world: World) -> None:
    """/.menshen/ and the JWKS path are answered by the gateway itself on every host."""
    for path in ("/.menshen/login", "/.well-known/menshen/jwks.json", "/.menshen"):
        verdict = world.check(path)
        assert isinstance(verdict, Respond)
        assert verdict.status == 299


def test_recent_denials_are_bounded(world: World) -> None:
    """The "why was I denied" memory keeps only the last few per session."""
    token = world.login("u-ann")
    for _ in range(25):
        world.check("/ledger/export/x", token)
    session = world.sessions.lookup("t1", token, "Chrome/Linux").session
    assert session is not None
    denials = world.guard.recent_denials(session.id)
    assert len(denials) == 10
    assert len({d.reference for d in denials}) == 10  # each names its own audit event
    audited = {e.id for e in world.events if e.kind == "access.deny"}
    assert {d.reference for d in denials} <= audited


def test_requests_are_refused_while_the_audit_log_is_far_behind(sqlite_store: SqlStore) -> None:
    """No request is served unlogged: a huge audit backlog turns answers into 503s."""
    backlog = [0]
    world = World(sqlite_store, audit_backlog=lambda: backlog[0])
    token = world.login("u-ann")
    assert isinstance(world.check("/ledger/books", token), Forward)
    backlog[0] = 10**6
    refused = world.check("/ledger/books", token)
    assert isinstance(refused, Respond)
    assert refused.status == 503


def test_denial_explains_each_rule_on_the_page_and_in_the_log(world: World) -> None:
    """The deny page and the audit event say what each considered rule needed."""
    verdict = world.check("/ledger/books", world.login("u-ben", "password"))
    assert isinstance(verdict, Respond)
    assert verdict.status == 403
    assert b'id="considered"' in verdict.body
    event = world.events[-1]
    assert event.kind == "access.deny"
    considered = event.details["considered"]
    assert isinstance(considered, list)
    assert any("ops" in line for line in considered)


def test_shadow_candidate_is_judged_but_never_enforced(world: World) -> None:
    """A candidate policy's different answer is recorded; the active answer stands."""
    candidate = compile_policies("t1", [AppPolicy("ledger", (Rule("nobody", Effect.DENY),))])
    old = world.guard.directory
    policy = old.policy("t1")
    assert policy is not None
    world.guard.set_directory(
        Directory(old.routes(), world.principals, {"t1": policy}, {}, {"t1": candidate})
    )
    verdict = world.check("/ledger/books", world.login("u-ann"))
    assert isinstance(verdict, Forward)
    shadow = [e for e in world.events if e.kind == "policy.shadow_disagreement"]
    assert len(shadow) == 1
    assert shadow[0].details["candidate_effect"] == "deny"
    assert shadow[0].outcome == "allow"


class _Live:
    """Live attributes a test can change between requests."""

    def __init__(self) -> None:
        self.scores: dict[str, float] = {}

    def risk(self, tenant_id: str, user_id: str) -> float:
        return self.scores.get(user_id, 0.0)

    def device(
        self, tenant_id: str, session: SessionRecord, head: RequestHead, now: datetime
    ) -> None:
        return None


def test_live_risk_changes_the_next_decision_of_an_open_session(sqlite_store: SqlStore) -> None:
    """Continuous evaluation: a risk score rising mid-session denies the very next request."""
    from menshen.manifest.parse import parse_manifests, to_app_policy

    live = _Live()
    world = World(sqlite_store, live=live)
    (manifest,) = parse_manifests(
        "apiVersion: menshen.dev/v1\nkind: Policy\nmetadata: {name: ledger-access}\nspec:\n"
        "  app: ledger\n  rules:\n    - name: ops-when-calm\n      groups: [ops]\n"
        "      mfa: {required: true}\n      when: {risk: {below: 50}}\n",
        "risk.yaml",
        known_apps=None,
    )
    policy = compile_policies("t1", [to_app_policy(manifest)])
    old = world.guard.directory
    world.guard.set_directory(Directory(old.routes(), world.principals, {"t1": policy}, {}))
    token = world.login("u-ann")
    assert isinstance(world.check("/ledger/books", token), Forward)
    live.scores["u-ann"] = 80.0
    denied = world.check("/ledger/books", token)
    assert isinstance(denied, Respond)
    assert denied.status == 403
    live.scores["u-ann"] = 10.0
    assert isinstance(world.check("/ledger/books", token), Forward)
