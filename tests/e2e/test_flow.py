"""The whole path over real sockets: sign-in, MFA, policy, assertion, revocation."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from menshen.cli.main import app
from menshen.demo.firm import TENANT
from menshen.sessions.cookies import HTTP_COOKIE
from menshen.settings import load_settings
from tests.e2e.harness import RunningStack, form_fields, sign_in, wait_until

pytestmark = pytest.mark.e2e
JSON = {"accept": "application/json"}


def test_alice_reaches_settlement_with_password_and_totp(running: RunningStack) -> None:
    """Password + TOTP lead back to the app, whose upstream verifies the assertion."""
    with running.client() as client:
        done = sign_in(running, client, "alice", target="/settlement/echo?x=1")
        assert done.status_code == 302
        assert done.headers["location"] == "/settlement/echo?x=1"
        echo = client.get("/settlement/echo?x=1", headers=JSON)
        assert echo.status_code == 200, echo.text
        body = echo.json()
        assert body["verified"] is True
        claims = body["claims"]
        assert claims["preferred_username"] == "alice"
        assert claims["aud"] == "settlement"
        assert "otp" in claims["amr"]
        headers = {name.lower(): value for name, value in body["headers"]}
        assert headers["x-menshen-user"] == "alice"
        assert "finance-ops" in headers["x-menshen-groups"]
        assert HTTP_COOKIE not in headers.get("cookie", "")
    kinds = {(r.kind, r.outcome) for r in running.audit()}
    assert ("login.success", "success") in kinds
    assert ("mfa.success", "success") in kinds
    assert ("access.allow", "allow") in kinds


def test_bob_reaches_the_wiki_but_not_settlement(running: RunningStack) -> None:
    """The contractor gets the wiki, and a 403 with the reason on settlement."""
    with running.client() as client:
        done = sign_in(running, client, "bob", target="/wiki/")
        assert done.status_code == 302
        assert done.headers["location"] == "/wiki/"
        wiki = client.get("/wiki/")
        assert wiki.status_code == 200
        assert "Signed in as <strong>bob" in wiki.text
        denied = client.get("/settlement/")
        assert denied.status_code == 403
        assert "Access denied" in denied.text
        assert 'id="reasons"' in denied.text
        assert "contractors-never" in denied.text or "contractor" in denied.text
        api = client.get("/settlement/batches", headers=JSON)
        assert api.status_code == 403
        assert api.headers["content-type"] == "application/problem+json"
        assert api.json()["status"] == 403
        assert api.json()["reasons"]
    assert running.wait_audit(lambda r: r.kind == "access.deny" and r.app == "settlement")


def test_signed_out_session_is_refused_on_the_next_request(running: RunningStack) -> None:
    """After sign-out the old cookie gets a login redirect, never the app."""
    with running.client() as client:
        sign_in(running, client, "bob", target="/wiki/")
        token = client.cookies[HTTP_COOKIE]
        home = client.get("/.menshen/")
        assert home.status_code == 200
        csrf = form_fields(home.text.split('action="/.menshen/logout"', 1)[1])["csrf"]
        out = client.post("/.menshen/logout", data={"csrf": csrf})
        assert out.status_code == 200
        assert "Signed out" in out.text
    with running.client(cookies={HTTP_COOKIE: token}) as replay:
        again = replay.get("/wiki/")
        assert again.status_code == 302
        assert "/.menshen/login" in again.headers["location"]


def test_admin_revocation_reaches_the_gateway(running: RunningStack) -> None:
    """A revocation written to the store by the CLI is enforced within the refresh period."""
    platform = running.stack.platform
    assert platform is not None
    with running.client() as client:
        sign_in(running, client, "bob", target="/wiki/")
        assert client.get("/wiki/").status_code == 200
        sessions = platform.store.tenant(TENANT).sessions
        bob = platform.store.tenant(TENANT).users.by_username("bob")
        assert bob is not None
        revoked = sessions.revoke_for_user(bob.id, at=platform.clock.now(), by="cli", reason="t")
        assert revoked
        assert wait_until(lambda: client.get("/wiki/").status_code == 302, timeout=5)


def test_user_revokes_another_of_their_sessions(running: RunningStack) -> None:
    """From the account page a user signs out another device; it is refused at once."""
    with running.client() as laptop, running.client() as phone:
        sign_in(running, laptop, "bob", target="/wiki/")
        sign_in(running, phone, "bob", target="/wiki/")
        assert phone.get("/wiki/").status_code == 200
        phone_token = phone.cookies[HTTP_COOKIE]
        home = laptop.get("/.menshen/sessions")
        target = _session_of(running, phone_token)
        assert f'value="{target}"' in home.text  # the sessions page lists the phone
        csrf = form_fields(home.text.split('action="/.menshen/sessions/revoke"', 1)[1])["csrf"]
        done = laptop.post("/.menshen/sessions/revoke", data={"csrf": csrf, "session": target})
        assert done.status_code == 302
        assert phone.get("/wiki/").status_code == 302
        assert laptop.get("/wiki/").status_code == 200


def test_replayed_totp_code_is_refused(running: RunningStack) -> None:
    """A TOTP code that signed in once cannot sign in again."""
    code = running.totp_code("admin")
    with running.client() as first:
        ok = sign_in(running, first, "admin", target="/settlement/", code=code)
        assert ok.status_code == 302
        assert ok.headers["location"] == "/settlement/"
    with running.client() as second:
        replay = sign_in(running, second, "admin", target="/settlement/", code=code)
        assert replay.status_code == 401
        assert "not valid" in replay.text
        assert second.get("/settlement/").status_code == 302
    assert running.wait_audit(lambda r: r.kind == "mfa.failure")


def test_api_requests_get_a_401_problem_not_a_redirect(running: RunningStack) -> None:
    """A single-page app's XHR gets 401 JSON it can act on."""
    with running.client(headers={"accept": "*/*"}) as client:
        response = client.get("/settlement/api/batches")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["login"].startswith("/.menshen/login?rd=")
    with running.client(headers={"accept": "application/json"}) as client:
        assert client.get("/wiki/").status_code == 401


def test_jwks_is_published(running: RunningStack) -> None:
    """The assertion keys are public at the well-known URL."""
    with running.client() as client:
        jwks = client.get("/.well-known/menshen/jwks.json").json()
        assert jwks["keys"]
        assert jwks["keys"][0]["alg"] == "ES256"
        assert "d" not in jwks["keys"][0]


def _user_id(running: RunningStack, username: str) -> str:
    assert running.stack.platform is not None
    user = running.stack.platform.store.tenant(TENANT).users.by_username(username)
    assert user is not None
    return user.id


def _session_of(running: RunningStack, token: str) -> str:
    assert running.stack.server is not None
    found = running.stack.server.sessions.lookup(TENANT, token, "Chrome/Linux")
    assert found.session is not None
    return found.session.id


def test_group_change_after_sign_in_is_enforced(running: RunningStack) -> None:
    """Removing a user from a group takes effect on their open session (iap.md §12)."""
    platform = running.stack.platform
    assert platform is not None
    identity = platform.identity(TENANT)
    identity.create_user("gina", "gina@contractor.example", "Gina", "gina-correct-horse-1")
    identity.add_member("contractors", "gina")
    with running.client() as client:
        assert wait_until(lambda: _can_sign_in(running, client, "gina", "gina-correct-horse-1"))
        assert client.get("/wiki/").status_code == 200
        identity.remove_member("contractors", "gina")
        assert wait_until(lambda: client.get("/wiki/").status_code == 403, timeout=5)


def _can_sign_in(running: RunningStack, client: httpx.Client, username: str, password: str) -> bool:
    page = client.get("/.menshen/login")
    done = client.post(
        "/.menshen/login",
        data={**form_fields(page.text), "username": username, "password": password},
    )
    return done.status_code == 302


def test_policy_change_reaches_open_sessions(running: RunningStack) -> None:
    """A policy applied while bob is signed in decides his very next requests (no re-login)."""
    from menshen.manifest.apply import apply_manifests
    from menshen.manifest.parse import parse_manifests

    platform = running.stack.platform
    assert platform is not None
    tenant = platform.store.tenant(TENANT)
    closed = parse_manifests(
        "apiVersion: menshen.dev/v1\nkind: Policy\nmetadata: {name: wiki-freeze}\nspec:\n"
        "  app: wiki\n  rules:\n    - name: wiki-frozen-for-contractors\n      effect: deny\n"
        "      groups: [contractors]\n      paths: [/wiki/frozen]\n",
        "freeze.yaml",
        known_apps=None,
    )
    with running.client() as client:
        sign_in(running, client, "bob", target="/wiki/")
        assert client.get("/wiki/frozen/page").status_code == 200
        apply_manifests(tenant, closed, clock=platform.clock)
        assert wait_until(lambda: client.get("/wiki/frozen/page").status_code == 403, timeout=5)
        assert client.get("/wiki/other").status_code == 200


def test_the_command_line_sees_the_running_demo_firms_settings(running: RunningStack) -> None:
    """The demo writes its menshen.yaml: the CLI's compliance gaps then use its profile."""
    written = running.stack.data_dir / "menshen.yaml"
    settings = load_settings(written, environ={})
    assert settings.tenant == TENANT
    profile = settings.options(TENANT).compliance
    assert profile.e_payment
    assert "settlement" in profile.scope
    runner = CliRunner()
    collected = runner.invoke(app, ["-c", str(written), "compliance", "collect"])
    assert collected.exit_code == 0, collected.output
    gaps = runner.invoke(app, ["-c", str(written), "compliance", "gaps", "--framework", "fsc-zta"])
    assert gaps.exit_code == 0, gaps.output
    assert "fsc-zta/" in gaps.output
