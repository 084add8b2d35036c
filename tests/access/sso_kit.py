"""A single sign-on world without sockets: a scripted provider and the real access services.

``FakeProvider`` answers discovery, JWKS and the token endpoint like an OpenID provider and
can be told to refuse refreshes (``invalid_grant``), to be unreachable, to send the RFC 9207
``iss`` parameter, or to hand out a forged ID token (the attacks of ``test_sso_attacks``).
``ProviderNetwork`` routes requests to several providers by issuer (mix-up tests).
``SsoWorld`` wires ``SingleSignOn``, the re-check job, sign-in pages and logout over a SQLite
store with two tenants, a fixed clock and captured audit events.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from menshen.access.account import Account
from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens
from menshen.access.pages import Pages
from menshen.access.returnto import ReturnSigner
from menshen.access.signin import SignIn
from menshen.access.sso import SingleSignOn
from menshen.access.sso_clients import ProviderClients
from menshen.access.sso_recheck import SessionRecheck
from menshen.access.sso_sessions import FederatedSessions, TokenVault
from menshen.crypto import SecretBox
from menshen.events.model import AuditEvent
from menshen.gateway.contract import Handle, RequestHead, Respond, Verdict
from menshen.identity import totp
from menshen.identity.oidc.model import FederationFailed, HttpRequest, HttpResponse
from menshen.identity.passwords import PasswordHasher, PasswordParams
from menshen.identity.service import IdentityService
from menshen.sessions.cookies import HTTP_COOKIE, read_cookie
from menshen.sessions.service import SessionService, SessionTimeouts
from menshen.sessions.useragent import user_agent_family
from menshen.settings import IdentityProviderSettings
from menshen.store.records import SessionRecord, TenantRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.identity.oidc import kit

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
HOSTS = {"t1": "apps.one.test", "t2": "apps.two.test"}
CLIENT_ID = kit.CLIENT_ID
PENDING = "menshen_oidc"


def _seal(plain: bytes) -> bytes:
    return b"s:" + plain


def _unseal(sealed: bytes) -> bytes:
    return sealed[2:]


IdTokenMaker = Callable[[dict[str, Any]], str]


@dataclass
class FakeProvider:
    """An OpenID provider at ``issuer`` signing ES256 ID tokens with ``key`` (the kit's)."""

    clock: FixedClock
    issuer: str = kit.ISSUER
    key: ec.EllipticCurvePrivateKey = kit.EC_KEY
    refresh: str = "ok"  # ok | refuse | unreachable | error5xx | no-id-token
    issue_refresh_tokens: bool = True
    iss_param: bool = False  # RFC 9207: advertise and send ``iss`` in the response
    email_domain: str = "corp.test"
    groups: dict[str, list[str]] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> subject
    requests: list[HttpRequest] = field(default_factory=list)
    # Makes the ID token of the next code exchanges from its claims (a forged one), if set.
    forge_id_token: IdTokenMaker | None = None

    def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        url = request.url.split("?")[0]
        if url == f"{self.issuer}/.well-known/openid-configuration":
            return self._json(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "end_session_endpoint": f"{self.issuer}/logout",
                    "response_types_supported": ["code"],
                    "code_challenge_methods_supported": ["S256"],
                    "authorization_response_iss_parameter_supported": self.iss_param,
                }
            )
        if url == f"{self.issuer}/jwks":
            return kit.jwks_response(kit.jwk(self.key, "k1"))
        if url == f"{self.issuer}/token" and request.form is not None:
            return self._token(dict(request.form))
        return HttpResponse(404, b"{}")

    def authorize(self, url: str, subject: str) -> dict[str, str]:
        """The callback parameters after ``subject`` signs in at the authorization URL."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        code = secrets.token_urlsafe(8)
        self.codes[code] = {
            "sub": subject,
            "nonce": query["nonce"],
            "redirect_uri": query["redirect_uri"],
        }
        answer = {"code": code, "state": query["state"]}
        if self.iss_param:
            answer["iss"] = self.issuer
        return answer

    def token_requests(self) -> int:
        """How many requests reached the token endpoint."""
        return sum(1 for r in self.requests if r.url == f"{self.issuer}/token")

    def _token(self, form: dict[str, str]) -> HttpResponse:
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            # RFC 6749 §4.1.3: single use, and the redirect URI of the authorization request.
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return self._json({"error": "invalid_grant"}, 400)
            return self._tokens(grant["sub"], grant["nonce"], with_id_token=True)
        if self.refresh == "unreachable":
            raise FederationFailed("transport: ConnectError", transient=True)
        if self.refresh == "error5xx":
            return self._json({"error": "server_error"}, 503)
        subject = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if subject is None or self.refresh == "refuse":
            return self._json({"error": "invalid_grant"}, 400)
        return self._tokens(subject, None, with_id_token=self.refresh != "no-id-token")

    def _tokens(self, subject: str, nonce: str | None, *, with_id_token: bool) -> HttpResponse:
        body: dict[str, Any] = {"access_token": secrets.token_urlsafe(8), "token_type": "Bearer"}
        if with_id_token:
            claims = kit.claims(
                self.clock,
                iss=self.issuer,
                sub=subject,
                nonce=nonce,
                email=f"{subject}@{self.email_domain}",
                groups=self.groups.get(subject, []),
            )
            if nonce is not None and self.forge_id_token is not None:
                body["id_token"] = self.forge_id_token(claims)
            else:
                body["id_token"] = jwt.encode(
                    claims, self.key, algorithm="ES256", headers={"kid": "k1"}
                )
        if self.issue_refresh_tokens:
            token = secrets.token_urlsafe(12)
            self.refresh_tokens[token] = subject
            body["refresh_token"] = token
        return self._json(body)

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200) -> HttpResponse:
        return HttpResponse(status, json.dumps(body).encode())


class ProviderNetwork:
    """The providers reachable from menshen, each answering under its issuer URL."""

    def __init__(self, *providers: FakeProvider) -> None:
        self.providers = {p.issuer: p for p in providers}

    def add(self, provider: FakeProvider) -> FakeProvider:
        self.providers[provider.issuer] = provider
        return provider

    def send(self, request: HttpRequest) -> HttpResponse:
        for issuer, provider in self.providers.items():
            if request.url.startswith(f"{issuer}/"):
                return provider.send(request)
        return HttpResponse(404, b"{}")


def provider_settings(name: str = "corp", **changes: Any) -> IdentityProviderSettings:
    base: dict[str, Any] = {
        "name": name,
        "issuer": kit.ISSUER,
        "client_id": CLIENT_ID,
        "client_secret": "s3cret",
        "provisioning": "jit",
        "group_map": {"idp-ops": ("ops",)},
        "email_domains": ("corp.test",),
        "recheck_interval": timedelta(minutes=5),
        "tenant": "t1",
    }
    base.update(changes)
    return IdentityProviderSettings(**base)


class SsoWorld:
    """Tenants t1 and t2 with their own providers, every SSO component, no sockets."""

    def __init__(
        self, store: SqlStore, providers: tuple[IdentityProviderSettings, ...] = ()
    ) -> None:
        self.store = store
        self.clock = FixedClock()
        store.add_tenant(TenantRecord("t2", "Two", self.clock.now()))
        self.idp = FakeProvider(self.clock)
        self.network = ProviderNetwork(self.idp)
        self.events: list[AuditEvent] = []
        self.sessions = SessionService(store, self.clock, SessionTimeouts())
        self._hasher = PasswordHasher(PasswordParams(memory_kib=64, time_cost=1))
        self._identities: dict[str, IdentityService] = {}
        for tenant in ("t1", "t2"):
            self.identity(tenant).create_group("ops", "Operations")
        by_tenant: dict[str, list[IdentityProviderSettings]] = {}
        for p in providers or (provider_settings(),):
            by_tenant.setdefault(p.tenant or "t1", []).append(p)
        self.clients = ProviderClients(by_tenant, self.network, self.clock)
        self.federated = FederatedSessions(store, TokenVault(SecretBox(b"t" * 32)))
        pages = Pages({"t1": "One", "t2": "Two"})
        signer = self.signer = ReturnSigner(b"r" * 32)
        self._totp: dict[str, str] = {}
        self.csrf = CsrfTokens(b"c" * 32)
        audit = PageAudit(self.events.append, self.clock)
        self.signin = SignIn(
            identities=self.identity,
            sessions=self.sessions,
            find_session=self.find_session,
            pages=pages,
            signer=signer,
            csrf=self.csrf,
            audit=audit,
            clock=self.clock,
            issuer_name=lambda tenant_id: "menshen",
            secure_cookies=lambda head: False,
            ensure_known=self._nothing,
            sso_links=lambda tenant_id, rd: self.sso.links(tenant_id, rd),
            sso_by_email=lambda tenant_id: self.sso.routes_by_email(tenant_id),
        )
        self.sso = SingleSignOn(
            clients=self.clients,
            federated=self.federated,
            clock=self.clock,
            box=SecretBox(b"p" * 32),
            identities=self.identity,
            users=lambda tenant_id: store.tenant(tenant_id).users.list(),
            sessions=self.sessions,
            find_session=self.find_session,
            signin=self.signin,
            signer=signer,
            pages=pages,
            audit=audit,
            csrf=self.csrf,
            secure_cookies=lambda head: False,
            reload=self._nothing,
        )
        self.recheck = self.recheck_with()
        self.account = Account(
            sessions=self.sessions,
            find_session=self.find_session,
            subject_of=lambda tenant_id, user_id: None,
            recent_denials=lambda session_id: [],
            signed_in=lambda tenant_id, session: True,
            pages=pages,
            csrf=self.csrf,
            audit=audit,
            jwks=lambda tenant_id: b"{}",
            secure_cookies=lambda head: False,
            provider_logout=self.sso.logout,
        )

    def recheck_with(self, *providers: IdentityProviderSettings) -> SessionRecheck:
        """The re-check job; with ``providers``, as if the configuration listed only those."""
        clients = self.clients
        if providers:
            clients = ProviderClients({"t1": providers}, self.network, self.clock)
        return SessionRecheck(
            store=self.store,
            clients=clients,
            federated=self.federated,
            sessions=self.sessions,
            identities=self.identity,
            clock=self.clock,
            publish=self.events.append,
            groups_changed=self._nothing,
        )

    async def _nothing(self, *args: str) -> None:
        return None

    def identity(self, tenant_id: str) -> IdentityService:
        if tenant_id not in self._identities:
            self._identities[tenant_id] = IdentityService(
                self.store.tenant(tenant_id), self._hasher, self.clock, _seal, _unseal
            )
        return self._identities[tenant_id]

    def find_session(self, head: RequestHead, tenant_id: str) -> tuple[SessionRecord | None, str]:
        token = read_cookie(head.header_values("cookie"), HTTP_COOKIE)
        if token is None:
            return None, "no session cookie"
        found = self.sessions.lookup(tenant_id, token, user_agent_family(UA))
        return found.session, found.problem or ""

    # -- requests -----------------------------------------------------------------------
    def head(
        self,
        tenant: str,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
        form: bool = False,
        port: int = 80,
    ) -> RequestHead:
        headers = [("user-agent", UA), ("origin", f"http://{HOSTS[tenant]}")]
        if cookies:
            headers.append(("cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
        if form:
            headers.append(("content-type", "application/x-www-form-urlencoded"))
        return RequestHead(
            method=method,
            path=path,
            query=urlencode(query or {}),
            host=HOSTS[tenant],
            port=port,
            scheme="http",
            headers=tuple(headers),
            client_ip="10.0.0.7",
            peer_ip="10.0.0.7",
        )

    def answer(self, verdict: Verdict, head: RequestHead, body: bytes = b"") -> Respond:
        if isinstance(verdict, Handle):

            async def run() -> Respond:
                assert isinstance(verdict, Handle)
                return await verdict.handler(head, body)

            return asyncio.run(run())
        assert isinstance(verdict, Respond), verdict
        return verdict

    def ctx(self, head: RequestHead, tenant: str) -> Context:
        return Context(head, tenant)

    def start(self, tenant: str = "t1", provider: str = "corp") -> tuple[str, str]:
        """Begin a login at ``provider``: the authorization URL and the pending cookie."""
        head = self.head(tenant, "GET", "/.menshen/oidc/start", query={"provider": provider})
        started = self.answer(self.sso.start(self.ctx(head, tenant)), head)
        assert started.status == 302, started
        return header(started, "location"), set_cookies(started)[PENDING]

    def callback(
        self,
        params: dict[str, str],
        pending: str | None,
        tenant: str = "t1",
        *,
        session: str | None = None,
        port: int = 80,
    ) -> Respond:
        """The provider's answer arriving at the callback, in a browser holding ``pending``
        (and the session cookie ``session``)."""
        cookies = {} if pending is None else {PENDING: pending}
        if session is not None:
            cookies[HTTP_COOKIE] = session
        head = self.head(
            tenant, "GET", "/.menshen/oidc/callback", query=params, cookies=cookies, port=port
        )
        return self.answer(self.sso.callback(self.ctx(head, tenant)), head)

    def sign_in(
        self,
        subject: str,
        tenant: str = "t1",
        provider: str = "corp",
        *,
        session: str | None = None,
    ) -> str:
        """A full SSO sign-in (in a browser holding ``session``); the new session's token."""
        url, pending = self.start(tenant, provider)
        idp = self.network.providers[url.split("/authorize")[0]]
        done = self.callback(idp.authorize(url, subject), pending, tenant, session=session)
        assert done.status == 302, (done.status, [e.reason for e in self.events])
        return set_cookies(done)[HTTP_COOKIE]

    def second_factor(self, token: str, tenant: str = "t1") -> str:
        """Enrol TOTP for the session's user and pass ``/.menshen/mfa`` with a code; the
        elevated session's token."""
        session = self.session_of(token, tenant)
        assert session is not None
        identity = self.identity(tenant)
        if not identity.has_totp(session.user_id):
            secret = identity.begin_totp_enrolment(session.user_id, "menshen").secret
            self._totp[session.user_id] = secret
            identity.confirm_totp_enrolment(session.user_id, self._code(session.user_id))
        self.clock.advance(30)  # a fresh time step: a code is used once
        rd = "/"
        form = {
            "csrf": self.csrf.token(session.id, "mfa"),
            "rd": rd,
            "sig": self.signer.sign(rd),
            "code": self._code(session.user_id),
        }
        head = self.head(tenant, "POST", "/.menshen/mfa", cookies={HTTP_COOKIE: token}, form=True)
        done = self.answer(self.signin.mfa_submit(self.ctx(head, tenant)), head, _form(form))
        assert done.status == 302, (done.status, [e.reason for e in self.events])
        return set_cookies(done)[HTTP_COOKIE]

    def password_sign_in(
        self, username: str, password: str, tenant: str = "t1", *, session: str | None = None
    ) -> Respond:
        """The password form posted in a browser holding ``session``."""
        binding = "b" * 43  # a well-formed pre-session cookie value
        rd = "/"
        form = {
            "csrf": self.csrf.token(binding, "login"),
            "rd": rd,
            "sig": self.signer.sign(rd),
            "username": username,
            "password": password,
        }
        cookies = {"menshen_csrf": binding}
        if session is not None:
            cookies[HTTP_COOKIE] = session
        head = self.head(tenant, "POST", "/.menshen/login", cookies=cookies, form=True)
        return self.answer(self.signin.login_submit(self.ctx(head, tenant)), head, _form(form))

    def _code(self, user_id: str) -> str:
        return totp.totp_at(totp.decode_secret(self._totp[user_id]), self.clock.now())

    def session_of(self, token: str, tenant: str = "t1") -> SessionRecord | None:
        return self.sessions.lookup(tenant, token, user_agent_family(UA)).session

    def recheck_round(self) -> Any:
        return asyncio.run(self.recheck.run_once())


def _form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def header(response: Respond, name: str) -> str:
    for key, value in response.headers:
        if key == name:
            return value
    raise AssertionError(f"no {name} header")


def set_cookies(response: Respond) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in response.headers:
        if key == "set-cookie":
            pair = value.split(";")[0]
            name, _, content = pair.partition("=")
            found[name] = content
    return found
