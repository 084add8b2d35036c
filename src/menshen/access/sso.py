"""Single sign-on through OpenID providers (``/.menshen/oidc/start`` and ``/callback``).

OpenID Connect Core 1.0 §3.1 (authorization code flow) through ``menshen.identity.oidc``.
The pending login (state, nonce, PKCE verifier, provider, tenant) travels in a short-lived
cookie sealed with AES-GCM under a key derived from the master key, which binds ``state`` to
this browser (login CSRF, RFC 6749 §10.12), to one provider (mix-up) and to the tenant whose
host began it. A new session id is issued on success (OWASP Session Management: renew after
login) and the provider's tokens are kept, sealed, for the re-check (``sso_recheck``) and
for RP-initiated logout (``sso_logout``). Every failure shows one generic page and writes
the precise reason to the audit log only.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import parse_qsl, quote, urlencode

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens
from menshen.access.pages import Pages, redirect
from menshen.access.returnto import ReturnSigner
from menshen.access.signin import SessionFinder, SignIn
from menshen.access.sso_clients import ProviderClients, claim_mapping
from menshen.access.sso_discover import EmailRouting
from menshen.access.sso_logout import ProviderLogout
from menshen.access.sso_sessions import FederatedSessions
from menshen.access.sso_users import MFA_AMR, Accepted, accept
from menshen.clock import Clock
from menshen.crypto import SecretBox
from menshen.errors import InvalidInput, MenshenError
from menshen.events.model import Kind, Outcome
from menshen.gateway.contract import Handle, RequestHead, Respond, Verdict
from menshen.identity.oidc.client import FederatedLogin
from menshen.identity.oidc.model import FederatedIdentity, FederationFailed, PendingLogin
from menshen.identity.service import IdentityService
from menshen.sessions.cookies import clear_cookie, cookie_name, set_cookie
from menshen.sessions.service import SessionService
from menshen.sessions.useragent import user_agent_family
from menshen.settings import IdentityProviderSettings
from menshen.store.records import SessionRecord, UserRecord

__all__ = ["MFA_AMR", "SingleSignOn", "claim_mapping", "pending_cookie_name"]

CALLBACK_PATH = "/.menshen/oidc/callback"
START_PATH = "/.menshen/oidc/start"
PENDING_COOKIE = "menshen_oidc"
HTTPS_PENDING_COOKIE = "__Host-menshen_oidc"
_PENDING_AAD = b"oidc-pending"
_MAX_COOKIE = 3000
GENERIC_SSO_ERROR = "Sign-in through your identity provider did not work. Try again."


def pending_cookie_name(scheme: str) -> str:
    return HTTPS_PENDING_COOKIE if scheme == "https" else PENDING_COOKIE


class SingleSignOn:
    def __init__(
        self,
        *,
        clients: ProviderClients,
        federated: FederatedSessions,
        clock: Clock,
        box: SecretBox,
        identities: Callable[[str], IdentityService],
        users: Callable[[str], Sequence[UserRecord]],
        sessions: SessionService,
        find_session: SessionFinder,
        signin: SignIn,
        signer: ReturnSigner,
        pages: Pages,
        audit: PageAudit,
        csrf: CsrfTokens,
        secure_cookies: Callable[[RequestHead], bool],
        reload: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self._clients = clients
        self._federated = federated
        self._clock = clock
        self._box = box
        self._identities = identities
        self._users = users
        self._sessions = sessions
        self._find_session = find_session
        self._signin = signin
        self._signer = signer
        self._pages = pages
        self._audit = audit
        self._secure = secure_cookies
        self._reload = reload
        self._routing = EmailRouting(
            clients=clients, csrf=csrf, signin=signin, pages=pages, audit=audit, begin=self.begin
        )
        self._logout = ProviderLogout(
            clients=clients, federated=federated, pages=pages, audit=audit
        )

    # -- login page ---------------------------------------------------------------------
    def links(self, tenant_id: str, rd: str) -> list[tuple[str, str]]:
        """(label, start URL) for each provider of the tenant."""
        sig = self._signer.sign(rd)
        return [
            (p.label, f"{START_PATH}?{urlencode({'provider': p.name, 'rd': rd, 'sig': sig})}")
            for p in self._clients.of(tenant_id)
        ]

    def routes_by_email(self, tenant_id: str) -> bool:
        """Whether the sign-in page offers the work-email field."""
        return self._clients.routes_by_email(tenant_id)

    def discover(self, ctx: Context) -> Verdict:
        """``POST /.menshen/oidc/discover``: the provider for a work email's domain."""
        return self._routing.submit(ctx)

    def logged_out(self, ctx: Context) -> Verdict:
        """``GET /.menshen/logged-out``: where a provider returns after signing out."""
        return self._logout.logged_out(ctx)

    async def logout(self, ctx: Context, session: SessionRecord) -> str | None:
        """Forget the provider login of a session being signed out; the provider's
        end-session URL when the user should be signed out there too."""
        return await self._logout.prepare(ctx, session)

    # -- /.menshen/oidc/start -----------------------------------------------------------
    def start(self, ctx: Context) -> Verdict:
        query = dict(parse_qsl(ctx.head.query, keep_blank_values=True))
        rd = self._signin.return_target(ctx.head, query.get("rd"), query.get("sig"))
        if rd is None:
            self._audit.attack(ctx, "altered sign-in link", f"rd={query.get('rd')!r}")
            return self._failure_page(ctx, 400)
        provider = self._clients.get(ctx.tenant_id, query.get("provider", ""))
        if provider is None:
            return self._failure(ctx, "oidc: unknown provider", query.get("provider", "")[:64])
        return Handle(lambda head, body: self.begin(ctx, provider, rd, {}))

    async def begin(
        self, ctx: Context, provider: IdentityProviderSettings, rd: str, extra: dict[str, str]
    ) -> Respond:
        """Send the browser to ``provider`` with a sealed pending-login cookie."""
        head = ctx.head
        client = self._clients.client(ctx.tenant_id, provider, _callback_uri(head))
        try:
            begun = await asyncio.to_thread(client.begin, extra)
        except FederationFailed as exc:
            return self._failure(ctx, f"oidc: {exc.reason}", provider.name)
        plain = json.dumps({"t": ctx.tenant_id, "p": begun.pending.to_cookie(), "rd": rd})
        sealed = self._box.seal(plain.encode(), _PENDING_AAD)
        value = base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")
        cookie = set_cookie(
            pending_cookie_name(head.scheme),
            value,
            secure=self._secure(head),
            max_age=client.config.max_login_seconds,
        )
        return redirect(begun.url, set_cookies=(cookie,))

    # -- /.menshen/oidc/callback --------------------------------------------------------
    def callback(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._callback(ctx))

    async def _callback(self, ctx: Context) -> Respond:
        head = ctx.head
        name = pending_cookie_name(head.scheme)
        provider_name = ""
        try:
            pending, rd = self._open(_read_pending(head.header_values("cookie"), name), ctx)
            provider_name = pending.provider
            provider = self._clients.get(ctx.tenant_id, pending.provider)
            if provider is None:
                raise FederationFailed("callback: provider no longer configured")
            # The client for the URI this callback was reached at: a login whose authorization
            # request named another redirect URI is refused (RFC 6749 §10.6).
            client = self._clients.client(ctx.tenant_id, provider, _callback_uri(head))
            params = dict(parse_qsl(head.query, keep_blank_values=True))
            login = await asyncio.to_thread(client.finish, pending, params)
            accepted = await asyncio.to_thread(
                self._accept, ctx.tenant_id, provider, login.identity
            )
        except FederationFailed as exc:
            return self._failure(ctx, f"oidc: {exc.reason}", provider_name, clear=name)
        return await self._signed_in(ctx, accepted, provider, login, rd, clear=name)

    def _open(self, value: str | None, ctx: Context) -> tuple[PendingLogin, str]:
        if value is None:
            raise FederationFailed("callback: no pending login cookie")
        try:
            sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(self._box.open(sealed, _PENDING_AAD))
        except (ValueError, InvalidInput):
            raise FederationFailed("callback: pending login cookie altered") from None
        if not isinstance(data, dict) or not isinstance(data.get("rd"), str):
            raise FederationFailed("callback: pending login cookie has the wrong shape")
        if data.get("t") != ctx.tenant_id:
            raise FederationFailed("callback: login was started on another tenant's host")
        pending = PendingLogin.from_cookie(str(data.get("p")))
        return pending, data["rd"]

    def _accept(
        self, tenant_id: str, provider: IdentityProviderSettings, identity: FederatedIdentity
    ) -> Accepted:
        """Find or create the user and sync mapped groups (blocking; in a worker thread)."""
        return accept(self._identities(tenant_id), self._users(tenant_id), provider, identity)

    async def _signed_in(
        self,
        ctx: Context,
        accepted: Accepted,
        provider: IdentityProviderSettings,
        login: FederatedLogin,
        rd: str,
        *,
        clear: str,
    ) -> Respond:
        head = ctx.head
        user = accepted.user
        await self._reload(ctx.tenant_id, user.id)
        old, _ = self._find_session(head, ctx.tenant_id)
        now = self._clock.now()
        created = await self._sessions.create(
            ctx.tenant_id,
            user.id,
            user_agent_family=user_agent_family(head.header("user-agent")),
            ip=head.client_ip,
            auth_level="mfa" if accepted.strong else "password",
            mfa_method="idp" if accepted.strong else None,
            mfa_at=now if accepted.strong else None,
            # A new sign-in: the replaced session's provider login ends; this one is kept below.
            replaces=None if old is None else old.id,
        )
        try:
            await asyncio.to_thread(
                self._federated.record_login,
                created.record,
                provider=provider.name,
                subject=login.identity.subject,
                refresh_token=login.tokens.refresh_token,
                id_token=login.tokens.id_token,
                now=now,
                next_check_at=now + provider.recheck_interval,
            )
        except MenshenError as exc:
            # Without the record the session could never be re-checked: refuse it (fail closed).
            await self._sessions.revoke(
                ctx.tenant_id, created.record.id, by="system", reason="provider login not kept"
            )
            reason = f"oidc: provider login could not be kept: {type(exc).__name__}"
            return self._failure(ctx, reason, provider.name, clear=clear)
        self._audit.record(
            ctx,
            Kind.LOGIN_SUCCESS,
            Outcome.SUCCESS,
            created.record,
            f"oidc:{provider.name}",
            subject=user.username,
            refresh_token="yes" if login.tokens.refresh_token else "no",
        )
        secure = self._secure(head)
        cookies = (
            set_cookie(cookie_name(head.scheme), created.token, secure=secure, max_age=None),
            clear_cookie(clear, secure=secure),
        )
        service = self._identities(ctx.tenant_id)
        if not accepted.strong and await asyncio.to_thread(service.mfa_required, user.id):
            enrolled = await asyncio.to_thread(service.has_totp, user.id)
            page = "/.menshen/mfa" if enrolled else "/.menshen/mfa/enrol"
            link = f"{page}?rd={quote(rd, safe='')}&sig={self._signer.sign(rd)}"
            return redirect(link, set_cookies=cookies)
        return redirect(rd, set_cookies=cookies)

    # -- failures -----------------------------------------------------------------------
    def _failure(self, ctx: Context, reason: str, provider: str, clear: str = "") -> Respond:
        self._audit.record(
            ctx, Kind.LOGIN_FAILURE, Outcome.FAILURE, None, reason[:300], provider=provider
        )
        cookies = (clear_cookie(clear, secure=self._secure(ctx.head)),) if clear else ()
        return self._failure_page(ctx, 401, cookies)

    def _failure_page(self, ctx: Context, status: int, cookies: tuple[str, ...] = ()) -> Respond:
        page = self._pages.message(
            tenant_id=ctx.tenant_id,
            status=status,
            heading="Sign-in failed",
            message=GENERIC_SSO_ERROR,
            link="/.menshen/login",
        )
        if not cookies:
            return page
        headers = (*page.headers, *(("set-cookie", c) for c in cookies))
        return Respond(page.status, headers, page.body)


def _read_pending(cookie_headers: list[str], name: str) -> str | None:
    """The pending-login cookie; None when absent, duplicated or oversized."""
    found: str | None = None
    for header in cookie_headers:
        for part in header.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                if found is not None:
                    return None
                found = value
    if found is None or len(found) > _MAX_COOKIE:
        return None
    return found


def _callback_uri(head: RequestHead) -> str:
    default = 443 if head.scheme == "https" else 80
    port = "" if head.port == default else f":{head.port}"
    return f"{head.scheme}://{head.host}{port}{CALLBACK_PATH}"
