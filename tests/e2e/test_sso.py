"""Single sign-on through real OpenID providers (oidc-provider on Node.js) at the gateway.

Two providers run: one signing ID tokens with ES256 that issues refresh tokens to every login
(as Keycloak does), one signing with RS256 that keeps oidc-provider's own rule (a refresh
token only for ``offline_access`` with ``prompt=consent``, as Okta and Entra ID have theirs).
Sessions are re-checked every two seconds, so refresh and a user disabled at the provider are
seen within a bounded poll.
"""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from menshen.access.sso_discover import NO_SSO_FOR_DOMAIN
from menshen.access.sso_recheck import RECHECK_EVENT
from menshen.demo.firm import TENANT
from menshen.events.model import Kind, Outcome
from menshen.sessions.cookies import HTTP_COOKIE, token_hash
from menshen.settings import IdentityProviderSettings
from menshen.store.records import FederatedSessionRecord
from tests.e2e.harness import RunningStack, form_fields, wait_until
from tests.identity.oidc.idp import CLIENT_ID, CLIENT_SECRET, RunningProvider, running_provider

pytestmark = pytest.mark.e2e

JSON = {"accept": "application/json"}
SSO_LINK = re.compile(r'href="(/\.menshen/oidc/start\?[^"]+)">Sign in with ([^<]+)<')
LOGOUT_FORM = re.compile(r'<form[^>]*id="op\.logoutForm"[^>]*action="([^"]+)"')
XSRF = re.compile(r'name="xsrf" value="([^"]+)"')
RECHECK = timedelta(seconds=2)
GROUPS = ("openid", "email", "profile", "groups")
_MAX_HOPS = 12


@dataclass
class SsoStack:
    """The demo gateway and the two real providers it trusts."""

    gateway: RunningStack
    es256: RunningProvider
    rs256: RunningProvider

    @property
    def callback(self) -> str:
        return f"{self.gateway.url}/.menshen/oidc/callback"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoStack]:
    """The demo stack with providers corp (ES256, JIT, routed by contractor.test), strict
    (ES256, pre-provisioned only) and rsa (RS256, offline_access refresh tokens, JIT)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    callback, logged_out = f"{base}/.menshen/oidc/callback", f"{base}/.menshen/logged-out"
    with (
        running_provider("ES256", callback, post_logout_uri=logged_out) as es256,
        running_provider(
            "RS256", callback, post_logout_uri=logged_out, refresh_tokens="offline"
        ) as rs256,
    ):

        def idp(name: str, at: RunningProvider, **extra: object) -> IdentityProviderSettings:
            values: dict[str, object] = {
                "name": name,
                "issuer": at.issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "display_name": name.title(),
                "scopes": GROUPS,
                "group_map": {"contractors": ("contractors",), "finance-ops": ("finance-ops",)},
                "recheck_interval": RECHECK,
                **extra,
            }
            return IdentityProviderSettings(**values)  # type: ignore[arg-type]

        stack = RunningStack(
            Path(tmp_path_factory.mktemp("sso")),
            http_port=port,
            identity_providers=(
                idp("corp", es256, provisioning="jit", email_domains=("contractor.test",)),
                idp("strict", es256, provisioning="preprovisioned"),
                idp("rsa", rs256, provisioning="jit", scopes=(*GROUPS, "offline_access")),
            ),
        )
        stack.start()
        try:
            yield SsoStack(stack, es256, rs256)
        finally:
            stack.stop()


class IdpBrowser:
    """A browser at one provider, keeping its cookies (the provider's session) across logins."""

    def __init__(self) -> None:
        self._http = httpx.Client(timeout=5.0, follow_redirects=False)

    def __enter__(self) -> IdpBrowser:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._http.close()

    def login(self, url: str, login: str, back_to: str) -> tuple[dict[str, str], list[str]]:
        """Follow an authorization URL to ``back_to``: its query, and the prompts shown."""
        prompts: list[str] = []
        response = self._http.get(url)
        for _ in range(_MAX_HOPS):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(back_to):
                    return {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}, prompts
                response = self._http.get(target)
            elif 'value="login"' in response.text:
                prompts.append("login")
                form = {"prompt": "login", "login": login, "password": "any"}
                response = self._http.post(str(response.url), data=form)
            elif 'value="consent"' in response.text:
                prompts.append("consent")
                response = self._http.post(str(response.url), data={"prompt": "consent"})
            else:
                raise AssertionError(
                    f"unexpected page {response.status_code}: {response.text[:300]}"
                )
        raise AssertionError("too many hops before the callback")

    def logout(self, url: str) -> str:
        """Open an end-session URL, confirm, and return where the provider sends the browser."""
        page = self._http.get(url)
        action, xsrf = LOGOUT_FORM.search(page.text), XSRF.search(page.text)
        assert action is not None, page.text[:300]
        assert xsrf is not None, page.text[:300]
        done = self._http.post(
            urljoin(url, html.unescape(action.group(1))),
            data={"xsrf": xsrf.group(1), "logout": "yes"},
        )
        assert done.is_redirect, done.text[:300]
        return urljoin(url, done.headers["location"])


def _start(client: httpx.Client, provider: str, target: str = "/wiki/") -> httpx.Response:
    """From the app to the login page (straight there when signed in already), then the
    provider's button: the redirect to the IdP."""
    first = client.get(target)
    page = client.get(first.headers["location"] if first.is_redirect else "/.menshen/login")
    links = {label: html.unescape(url) for url, label in SSO_LINK.findall(page.text)}
    assert set(links) == {"Corp", "Strict", "Rsa"}
    start = client.get(links[provider.title()])
    assert start.status_code == 302, start.text
    return start


def _sign_in(
    sso: SsoStack, client: httpx.Client, browser: IdpBrowser, provider: str, login: str
) -> httpx.Response:
    params, _ = browser.login(_start(client, provider).headers["location"], login, sso.callback)
    return client.get("/.menshen/oidc/callback", params=params)


def _federated(sso: SsoStack, client: httpx.Client) -> FederatedSessionRecord | None:
    platform = sso.gateway.stack.platform
    assert platform is not None
    tenant = platform.store.tenant(TENANT)
    session = tenant.sessions.by_token_hash(token_hash(client.cookies[HTTP_COOKIE]))
    assert session is not None
    return tenant.federated_sessions.get(session.id)


@pytest.mark.parametrize("provider", ["corp", "rsa"], ids=["ES256", "RS256"])
def test_sign_in_refresh_and_logout_at_a_real_provider(sso: SsoStack, provider: str) -> None:
    """Sign in with mapped groups, stay in through refreshes, sign out at the provider too."""
    idp = sso.es256 if provider == "corp" else sso.rs256
    assert idp.alg == ("ES256" if provider == "corp" else "RS256")
    with sso.gateway.client() as client, IdpBrowser() as browser:
        done = _sign_in(sso, client, browser, provider, "bob")
        assert done.status_code == 302, done.text
        assert done.headers["location"] == "/wiki/"
        echo = client.get("/wiki/echo", headers=JSON)
        assert echo.status_code == 200, echo.text
        assert echo.json()["claims"]["email"] == "bob@contractor.test"
        assert client.get("/settlement/").status_code == 403  # mapped: contractors
        first = _federated(sso, client)
        assert first is not None
        assert first.refresh_token_sealed is not None
        assert wait_until(
            lambda: (r := _federated(sso, client)) is not None and r.checked_at > first.checked_at,
            timeout=20,
        ), "the re-check never confirmed the login with the refresh token"
        assert client.get("/wiki/echo", headers=JSON).status_code == 200
        _, again = browser.login(_start(client, provider).headers["location"], "bob", sso.callback)
        assert "login" not in again  # the provider's session is live before logout

        page = client.get("/.menshen/logout")
        out = client.post("/.menshen/logout", data={"csrf": form_fields(page.text)["csrf"]})
        assert out.status_code == 302, out.text
        end = out.headers["location"]
        assert end.startswith(idp.issuer)
        query = {k: v[0] for k, v in parse_qs(urlsplit(end).query).items()}
        assert query["post_logout_redirect_uri"] == f"{sso.gateway.url}/.menshen/logged-out"
        assert query["client_id"] == CLIENT_ID
        assert query["id_token_hint"].count(".") == 2
        assert client.get("/wiki/", headers=JSON).status_code != 200
        back = browser.logout(end)
        assert back.startswith(f"{sso.gateway.url}/.menshen/logged-out?")
        assert parse_qs(urlsplit(back).query)["state"] == [query["state"]]
        signed_out = client.get(back)
        assert signed_out.status_code == 200
        assert "You are signed out" in signed_out.text
        _, after = browser.login(_start(client, provider).headers["location"], "bob", sso.callback)
        assert "login" in after  # the provider's session really ended
    sso.gateway.wait_audit(
        lambda r: r.kind == "sso.logout" and r.outcome == Outcome.SUCCESS
        and r.details.get("provider") == provider
    )  # fmt: skip


def test_user_disabled_at_the_provider_loses_access(sso: SsoStack) -> None:
    """Within the re-check interval the provider's refusal revokes the session."""
    with sso.gateway.client() as client, IdpBrowser() as browser:
        assert _sign_in(sso, client, browser, "corp", "bob").status_code == 302
        assert client.get("/wiki/echo", headers=JSON).status_code == 200
        sso.es256.command("disable bob")
        try:
            assert wait_until(
                lambda: client.get("/wiki/echo", headers=JSON).status_code != 200, timeout=20
            ), "the session outlived the user at the provider"
        finally:
            sso.es256.command("enable bob")
    event = sso.gateway.wait_audit(
        lambda r: r.kind == RECHECK_EVENT and r.outcome == Outcome.DENY
        and "invalid_grant" in (r.reason or "")
    )  # fmt: skip
    assert event.actor == "idp:corp"


def test_a_work_email_picks_the_provider_by_domain(sso: SsoStack) -> None:
    """The email's domain chooses the provider (login_hint passed); others go to passwords."""
    with sso.gateway.client() as client, IdpBrowser() as browser:
        first = client.get("/wiki/")
        page = client.get(first.headers["location"])
        assert "Work email" in page.text
        fields = form_fields(page.text)
        miss = client.post(
            "/.menshen/oidc/discover", data={**fields, "email": "someone@nowhere.test"}
        )
        assert miss.status_code == 200
        assert html.escape(NO_SSO_FOR_DOMAIN, quote=True) in miss.text
        hit = client.post(
            "/.menshen/oidc/discover", data={**fields, "email": "bob@contractor.test"}
        )
        assert hit.status_code == 302, hit.text
        location = hit.headers["location"]
        assert location.startswith(sso.es256.issuer)
        assert parse_qs(urlsplit(location).query)["login_hint"] == ["bob@contractor.test"]
        params, _ = browser.login(location, "bob", sso.callback)
        done = client.get("/.menshen/oidc/callback", params=params)
        assert done.headers["location"] == "/wiki/"
        assert client.get("/wiki/echo", headers=JSON).status_code == 200


def test_jit_user_lands_on_the_wiki_with_mapped_groups(sso: SsoStack) -> None:
    """A new user is created from the ID token, given mapped groups, and reaches the wiki."""
    with sso.gateway.client() as client, IdpBrowser() as browser:
        done = _sign_in(sso, client, browser, "corp", "bob")
        assert done.status_code == 302, done.text
        claims = client.get("/wiki/echo", headers=JSON).json()["claims"]
        assert claims["preferred_username"].startswith("bob-")
        platform = sso.gateway.stack.platform
        assert platform is not None
        user = platform.store.tenant(TENANT).users.by_username(claims["preferred_username"])
        assert user is not None
        assert user.password_hash is None
        assert platform.identity(TENANT).groups_of(user.id) == {"contractors"}
    record = sso.gateway.wait_audit(
        lambda r: r.kind == Kind.LOGIN_SUCCESS and r.reason == "oidc:corp"
    )
    assert (record.subject or "").startswith("bob-")


def test_mapped_group_requiring_mfa_sends_to_menshens_second_factor(sso: SsoStack) -> None:
    """A password-strength IdP login into an MFA group goes on to menshen's own MFA."""
    with sso.gateway.client() as client, IdpBrowser() as browser:
        done = _sign_in(sso, client, browser, "rsa", "alice")
        assert done.status_code == 302, done.text
        assert done.headers["location"].startswith("/.menshen/mfa/enrol?")


def test_preprovisioned_provider_refuses_unknown_users(sso: SsoStack) -> None:
    """Without JIT, an IdP user with no menshen account gets no session."""
    with sso.gateway.client() as client, IdpBrowser() as browser:
        done = _sign_in(sso, client, browser, "strict", "carol")
        assert done.status_code == 401
        assert "Sign-in failed" in done.text
        assert client.get("/wiki/").status_code == 302
    sso.gateway.wait_audit(
        lambda r: r.kind == Kind.LOGIN_FAILURE and "pre-provisioned" in (r.reason or "")
    )


def test_tampered_state_is_refused(sso: SsoStack) -> None:
    """A callback whose state does not match the sealed pending login fails closed."""
    with sso.gateway.client() as client, IdpBrowser() as browser:
        params, _ = browser.login(_start(client, "corp").headers["location"], "bob", sso.callback)
        params["state"] = params["state"][:-2] + "xx"
        done = client.get("/.menshen/oidc/callback", params=params)
        assert done.status_code == 401
        assert client.get("/wiki/").status_code == 302
    sso.gateway.wait_audit(lambda r: r.kind == Kind.LOGIN_FAILURE and "state" in (r.reason or ""))


def test_callback_without_the_pending_cookie_is_refused(sso: SsoStack) -> None:
    """Login CSRF: a victim's browser without the pending cookie never gets a session."""
    with sso.gateway.client() as attacker, IdpBrowser() as browser:
        params, _ = browser.login(_start(attacker, "corp").headers["location"], "bob", sso.callback)
    with sso.gateway.client() as victim:
        done = victim.get("/.menshen/oidc/callback", params=params)
        assert done.status_code == 401
        assert not any(c.startswith("menshen") for c in victim.cookies if "oidc" not in c)
    sso.gateway.wait_audit(
        lambda r: r.kind == Kind.LOGIN_FAILURE and "no pending login" in (r.reason or "")
    )


def test_altered_pending_cookie_is_refused(sso: SsoStack) -> None:
    """A pending-login cookie changed by the browser fails to open: no session."""
    with sso.gateway.client() as client, IdpBrowser() as browser:
        params, _ = browser.login(_start(client, "corp").headers["location"], "bob", sso.callback)
        value = client.cookies["menshen_oidc"]
        tampered = value[:-4] + ("AAAA" if value[-4:] != "AAAA" else "BBBB")
        client.cookies.clear()
        done = client.get(
            "/.menshen/oidc/callback", params=params, headers={"cookie": f"menshen_oidc={tampered}"}
        )
        assert done.status_code == 401
    sso.gateway.wait_audit(lambda r: r.kind == Kind.LOGIN_FAILURE and "altered" in (r.reason or ""))


def test_start_with_altered_return_link_or_unknown_provider_is_refused(sso: SsoStack) -> None:
    """The return target is signed and only configured providers start."""
    with sso.gateway.client() as client:
        answer = client.get(
            "/.menshen/oidc/start", params={"provider": "corp", "rd": "/x", "sig": "0"}
        )
        assert answer.status_code == 400
        assert "location" not in answer.headers
        first = client.get("/wiki/")
        query = parse_qs(urlsplit(first.headers["location"]).query)
        answer = client.get(
            "/.menshen/oidc/start",
            params={"provider": "nope", "rd": query["rd"][0], "sig": query["sig"][0]},
        )
        assert answer.status_code == 401
