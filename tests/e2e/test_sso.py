"""Single sign-on through a real OpenID provider (oidc-provider on Node.js) at the gateway."""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from menshen.demo.firm import TENANT
from menshen.events.model import Kind
from menshen.settings import IdentityProviderSettings
from tests.e2e.harness import RunningStack
from tests.identity.oidc.idp import CLIENT_ID, CLIENT_SECRET, browser_login, running_provider

pytestmark = pytest.mark.e2e

JSON = {"accept": "application/json"}
SSO_LINK = re.compile(r'href="(/\.menshen/oidc/start\?[^"]+)">Sign in with ([^<]+)<')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The demo stack with two providers at one real IdP: JIT, and pre-provisioned only."""
    port = _free_port()
    callback = f"http://127.0.0.1:{port}/.menshen/oidc/callback"
    with running_provider("ES256", redirect_uri=callback) as provider:

        def idp(name: str, **extra: object) -> IdentityProviderSettings:
            return IdentityProviderSettings(
                name=name,
                issuer=provider.issuer,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                display_name=name.title(),
                scopes=("openid", "email", "profile", "groups"),
                group_map={"contractors": ("contractors",), "finance-ops": ("finance-ops",)},
                **extra,  # type: ignore[arg-type]
            )

        stack = RunningStack(
            Path(tmp_path_factory.mktemp("sso")),
            http_port=port,
            identity_providers=(
                idp("corp", provisioning="jit"),
                idp("strict", provisioning="preprovisioned"),
            ),
        )
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()


def _start(client: httpx.Client, provider: str, target: str = "/wiki/") -> httpx.Response:
    """From the app to the login page, then the provider's button: the redirect to the IdP."""
    first = client.get(target)
    assert first.status_code == 302, first.text
    page = client.get(first.headers["location"])
    links = {label: html.unescape(url) for url, label in SSO_LINK.findall(page.text)}
    assert set(links) == {"Corp", "Strict"}
    return client.get(links[provider.title()])


def _idp_callback(sso: RunningStack, start: httpx.Response, login: str) -> dict[str, str]:
    assert start.status_code == 302, start.text
    callback = f"{sso.url}/.menshen/oidc/callback"
    return browser_login(start.headers["location"], login, redirect_uri=callback)


def test_jit_user_lands_on_the_wiki_with_mapped_groups(sso: RunningStack) -> None:
    """A new user is created from the ID token, given mapped groups, and reaches the wiki."""
    with sso.client() as client:
        params = _idp_callback(sso, _start(client, "corp"), "bob")
        done = client.get("/.menshen/oidc/callback", params=params)
        assert done.status_code == 302, done.text
        assert done.headers["location"] == "/wiki/"
        echo = client.get("/wiki/echo", headers=JSON)
        assert echo.status_code == 200, echo.text
        claims = echo.json()["claims"]
        assert claims["email"] == "bob@contractor.test"
        assert claims["preferred_username"].startswith("bob-")
        assert sso.stack.platform is not None
        identity = sso.stack.platform.identity(TENANT)
        user = sso.stack.platform.store.tenant(TENANT).users.by_username(
            claims["preferred_username"]
        )
        assert user is not None
        assert user.password_hash is None
        assert identity.groups_of(user.id) == {"contractors"}
        assert client.get("/settlement/").status_code == 403
    record = sso.wait_audit(lambda r: r.kind == Kind.LOGIN_SUCCESS and r.reason == "oidc:corp")
    assert record.subject is not None
    assert record.subject.startswith("bob-")


def test_mapped_group_requiring_mfa_sends_to_menshens_second_factor(sso: RunningStack) -> None:
    """A password-strength IdP login into an MFA group goes on to menshen's own MFA."""
    with sso.client() as client:
        params = _idp_callback(sso, _start(client, "corp"), "alice")
        done = client.get("/.menshen/oidc/callback", params=params)
        assert done.status_code == 302, done.text
        assert done.headers["location"].startswith("/.menshen/mfa/enrol?")


def test_preprovisioned_provider_refuses_unknown_users(sso: RunningStack) -> None:
    """Without JIT, an IdP user with no menshen account gets no session."""
    with sso.client() as client:
        params = _idp_callback(sso, _start(client, "strict"), "carol")
        done = client.get("/.menshen/oidc/callback", params=params)
        assert done.status_code == 401
        assert "Sign-in failed" in done.text
        assert client.get("/wiki/").status_code == 302
    sso.wait_audit(lambda r: r.kind == Kind.LOGIN_FAILURE and "pre-provisioned" in (r.reason or ""))


def test_tampered_state_is_refused(sso: RunningStack) -> None:
    """A callback whose state does not match the sealed pending login fails closed."""
    with sso.client() as client:
        params = _idp_callback(sso, _start(client, "corp"), "bob")
        params["state"] = params["state"][:-2] + "xx"
        done = client.get("/.menshen/oidc/callback", params=params)
        assert done.status_code == 401
        assert client.get("/wiki/").status_code == 302
    sso.wait_audit(lambda r: r.kind == Kind.LOGIN_FAILURE and "state" in (r.reason or ""))


def test_callback_without_the_pending_cookie_is_refused(sso: RunningStack) -> None:
    """Login CSRF: a victim's browser without the pending cookie never gets a session."""
    with sso.client() as attacker:
        params = _idp_callback(sso, _start(attacker, "corp"), "bob")
    with sso.client() as victim:
        done = victim.get("/.menshen/oidc/callback", params=params)
        assert done.status_code == 401
        assert not any(c.startswith("menshen") for c in victim.cookies if "oidc" not in c)
    sso.wait_audit(
        lambda r: r.kind == Kind.LOGIN_FAILURE and "no pending login" in (r.reason or "")
    )


def test_altered_pending_cookie_is_refused(sso: RunningStack) -> None:
    """A pending-login cookie changed by the browser fails to open: no session."""
    with sso.client() as client:
        start = _start(client, "corp")
        params = _idp_callback(sso, start, "bob")
        value = client.cookies["menshen_oidc"]
        tampered = value[:-4] + ("AAAA" if value[-4:] != "AAAA" else "BBBB")
        client.cookies.clear()
        done = client.get(
            "/.menshen/oidc/callback", params=params, headers={"cookie": f"menshen_oidc={tampered}"}
        )
        assert done.status_code == 401
    sso.wait_audit(lambda r: r.kind == Kind.LOGIN_FAILURE and "altered" in (r.reason or ""))


def test_start_with_altered_return_link_is_refused(sso: RunningStack) -> None:
    """The return target is signed; changing it is refused before going to the provider."""
    with sso.client() as client:
        answer = client.get(
            "/.menshen/oidc/start", params={"provider": "corp", "rd": "/x", "sig": "0"}
        )
        assert answer.status_code == 400
        assert "location" not in answer.headers


def test_unknown_provider_is_refused(sso: RunningStack) -> None:
    """Only configured providers can be started."""
    with sso.client() as client:
        first = client.get("/wiki/")
        query = parse_qs(urlsplit(first.headers["location"]).query)
        answer = client.get(
            "/.menshen/oidc/start",
            params={"provider": "nope", "rd": query["rd"][0], "sig": query["sig"][0]},
        )
        assert answer.status_code == 401
