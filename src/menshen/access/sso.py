"""Single sign-on through OpenID providers (``/.menshen/oidc/start`` and ``/callback``).

OpenID Connect Core 1.0 §3.1 (authorization code flow) through ``menshen.identity.oidc``.
The pending login (state, nonce, PKCE verifier, provider) travels in a short-lived cookie
sealed with AES-GCM under a key derived from the master key and bound to the tenant, which
binds ``state`` to this browser (login CSRF, RFC 6749 §10.12) and to one provider (mix-up).
A new session id is issued on success (OWASP Session Management: renew after login). Every
failure shows one generic page and writes the precise reason to the audit log only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode

from menshen.access.audit import Context, PageAudit
from menshen.access.pages import Pages, redirect
from menshen.access.returnto import ReturnSigner
from menshen.access.signin import SessionFinder, SignIn
from menshen.clock import Clock
from menshen.crypto import SecretBox
from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.events.model import Kind, Outcome
from menshen.gateway.contract import Handle, RequestHead, Respond, Verdict
from menshen.identity.oidc.client import OidcClient
from menshen.identity.oidc.model import (
    ClaimMapping,
    FederatedIdentity,
    FederationFailed,
    HttpFetcher,
    PendingLogin,
    ProviderConfig,
)
from menshen.identity.service import IdentityService
from menshen.sessions.cookies import clear_cookie, cookie_name, set_cookie
from menshen.sessions.service import SessionService
from menshen.sessions.useragent import user_agent_family
from menshen.settings import IdentityProviderSettings
from menshen.store.records import UserRecord

CALLBACK_PATH = "/.menshen/oidc/callback"
START_PATH = "/.menshen/oidc/start"
PENDING_COOKIE = "menshen_oidc"
HTTPS_PENDING_COOKIE = "__Host-menshen_oidc"
# RFC 8176 authentication method references that mean a second or stronger factor.
MFA_AMR = frozenset({"mfa", "otp", "hwk", "sc"})
_MAX_COOKIE = 3000
_MAX_CLIENTS = 64
GENERIC_SSO_ERROR = "Sign-in through your identity provider did not work. Try again."


def pending_cookie_name(scheme: str) -> str:
    return HTTPS_PENDING_COOKIE if scheme == "https" else PENDING_COOKIE


def claim_mapping(provider: IdentityProviderSettings) -> ClaimMapping:
    """The claim mapping for a configured provider and its preset."""
    path = tuple(provider.groups_claim.split(".")) if provider.groups_claim else ()
    table = dict(provider.group_map)
    if provider.preset == "entra_id":
        tenant = provider.issuer.rstrip("/").split("/")[-2]
        return ClaimMapping(
            subject="oid",
            email=("email", "preferred_username"),
            groups_path=path,
            group_table=table,
            required_claims={"tid": tenant},
        )
    verified = provider.preset == "keycloak"
    return ClaimMapping(groups_path=path, group_table=table, require_verified_email=verified)


@dataclass(frozen=True, slots=True)
class _Accepted:
    """A federated user mapped to a menshen user."""

    user: UserRecord
    strong: bool


class SingleSignOn:
    def __init__(
        self,
        *,
        providers: Mapping[str, Sequence[IdentityProviderSettings]],
        fetcher: HttpFetcher,
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
        secure_cookies: Callable[[RequestHead], bool],
        reload: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self._providers = {
            tenant: {p.name: p for p in items} for tenant, items in providers.items()
        }
        self._fetcher = fetcher
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
        self._clients: dict[tuple[str, str, str], OidcClient] = {}

    # -- login page ---------------------------------------------------------------------
    def links(self, tenant_id: str, rd: str) -> list[tuple[str, str]]:
        """(label, start URL) for each provider of the tenant."""
        sig = self._signer.sign(rd)
        return [
            (p.label, f"{START_PATH}?{urlencode({'provider': p.name, 'rd': rd, 'sig': sig})}")
            for p in self._providers.get(tenant_id, {}).values()
        ]

    def _client(self, tenant_id: str, provider: IdentityProviderSettings, uri: str) -> OidcClient:
        key = (tenant_id, provider.name, uri)
        client = self._clients.get(key)
        if client is None:
            config = ProviderConfig(
                name=provider.name,
                issuer=provider.issuer,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                redirect_uri=uri,
                scopes=provider.scopes,
                claims=claim_mapping(provider),
            )
            client = OidcClient(config, self._fetcher, self._clock)
            if len(self._clients) >= _MAX_CLIENTS:  # Host ports come from the request
                self._clients.clear()
            self._clients[key] = client
        return client

    # -- /.menshen/oidc/start -----------------------------------------------------------
    def start(self, ctx: Context) -> Verdict:
        query = dict(parse_qsl(ctx.head.query, keep_blank_values=True))
        rd = self._signin.return_target(ctx.head, query.get("rd"), query.get("sig"))
        if rd is None:
            self._audit.attack(ctx, "altered sign-in link", f"rd={query.get('rd')!r}")
            return self._failure_page(ctx, 400)
        provider = self._providers.get(ctx.tenant_id, {}).get(query.get("provider", ""))
        if provider is None:
            return self._failure(ctx, "oidc: unknown provider", query.get("provider", "")[:64])
        return Handle(lambda head, body: self._start(ctx, provider, rd))

    async def _start(self, ctx: Context, provider: IdentityProviderSettings, rd: str) -> Respond:
        head = ctx.head
        client = self._client(ctx.tenant_id, provider, _callback_uri(head))
        try:
            begun = await asyncio.to_thread(client.begin)
        except FederationFailed as exc:
            return self._failure(ctx, f"oidc: {exc.reason}", provider.name)
        plain = json.dumps({"p": begun.pending.to_cookie(), "rd": rd}).encode()
        sealed = self._box.seal(plain, _aad(ctx.tenant_id))
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
            provider = self._providers.get(ctx.tenant_id, {}).get(pending.provider)
            if provider is None:
                raise FederationFailed("callback: provider no longer configured")
            client = self._client(ctx.tenant_id, provider, pending.redirect_uri)
            params = dict(parse_qsl(head.query, keep_blank_values=True))
            login = await asyncio.to_thread(client.finish, pending, params)
            accepted = await asyncio.to_thread(
                self._accept, ctx.tenant_id, provider, login.identity
            )
        except FederationFailed as exc:
            return self._failure(ctx, f"oidc: {exc.reason}", provider_name, clear=name)
        return await self._signed_in(ctx, accepted, provider, rd, clear=name)

    def _open(self, value: str | None, ctx: Context) -> tuple[PendingLogin, str]:
        if value is None:
            raise FederationFailed("callback: no pending login cookie")
        try:
            sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(self._box.open(sealed, _aad(ctx.tenant_id)))
        except (ValueError, InvalidInput):
            raise FederationFailed("callback: pending login cookie altered") from None
        if not isinstance(data, dict) or not isinstance(data.get("rd"), str):
            raise FederationFailed("callback: pending login cookie has the wrong shape")
        pending = PendingLogin.from_cookie(str(data.get("p")))
        return pending, data["rd"]

    def _accept(
        self, tenant_id: str, provider: IdentityProviderSettings, identity: FederatedIdentity
    ) -> _Accepted:
        """Find or create the user and sync mapped groups (blocking; in a worker thread)."""
        if identity.email is None:
            raise FederationFailed("mapping: no email claim")
        email = identity.email.strip().lower()
        domain = email.rpartition("@")[2]
        if provider.email_domains and domain not in provider.email_domains:
            raise FederationFailed(f"mapping: email domain {domain!r} not allowed")
        service = self._identities(tenant_id)
        user = _by_email(self._users(tenant_id), email)
        if user is None:
            if provider.provisioning != "jit":
                raise FederationFailed("mapping: no such user (pre-provisioned only)")
            user = _create(service, email, identity.name or "")
        if user.disabled:
            raise FederationFailed("mapping: user disabled")
        managed = {g for targets in provider.group_map.values() for g in targets}
        current = service.groups_of(user.id)
        for group in sorted(managed):
            try:
                if group in identity.groups and group not in current:
                    service.add_member(group, user.username)
                elif group not in identity.groups and group in current:
                    service.remove_member(group, user.username)
            except NotFound:
                continue  # a mapped group the tenant has not created grants nothing
        amr = identity.claims.get("amr")
        strong = isinstance(amr, list) and any(m in MFA_AMR for m in amr if isinstance(m, str))
        return _Accepted(user, strong)

    async def _signed_in(
        self,
        ctx: Context,
        accepted: _Accepted,
        provider: IdentityProviderSettings,
        rd: str,
        *,
        clear: str,
    ) -> Respond:
        head = ctx.head
        user = accepted.user
        await self._reload(ctx.tenant_id, user.id)
        old, _ = self._find_session(head, ctx.tenant_id)
        created = await self._sessions.create(
            ctx.tenant_id,
            user.id,
            user_agent_family=user_agent_family(head.header("user-agent")),
            ip=head.client_ip,
            auth_level="mfa" if accepted.strong else "password",
            mfa_method="idp" if accepted.strong else None,
            mfa_at=self._clock.now() if accepted.strong else None,
            replaces=None if old is None else old.id,
        )
        self._audit.record(
            ctx,
            Kind.LOGIN_SUCCESS,
            Outcome.SUCCESS,
            created.record,
            f"oidc:{provider.name}",
            subject=user.username,
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


def _aad(tenant_id: str) -> bytes:
    return f"oidc-pending:{tenant_id}".encode()


def _callback_uri(head: RequestHead) -> str:
    default = 443 if head.scheme == "https" else 80
    port = "" if head.port == default else f":{head.port}"
    return f"{head.scheme}://{head.host}{port}{CALLBACK_PATH}"


def _by_email(users: Sequence[UserRecord], email: str) -> UserRecord | None:
    matches = [u for u in users if u.email.lower() == email]
    if len(matches) > 1:
        raise FederationFailed("mapping: several users have this email")
    return matches[0] if matches else None


def _create(service: IdentityService, email: str, name: str) -> UserRecord:
    local = "".join(c if c.isalnum() or c in "._-" else "-" for c in email.partition("@")[0])
    base = local.lower().strip("._-")[:56] or "user"
    for attempt in range(20):
        username = base if attempt == 0 else f"{base}-{secrets.token_hex(3)}"
        try:
            return service.create_user(username, email, name, password=None)
        except Conflict:
            continue
        except InvalidInput as exc:
            raise FederationFailed(f"mapping: cannot create user: {exc}") from None
    raise FederationFailed("mapping: no free username")
