"""Identifier-first sign-in: the provider is chosen by the domain of a work email address.

``POST /.menshen/oidc/discover`` takes the address from the sign-in page (a form carrying the
login CSRF token, OWASP CSRF Prevention Cheat Sheet "Signed Double-Submit Cookie", and the
signed return link) and sends the browser to the first of the tenant's providers whose
``email_domains`` lists the domain, with the address as ``login_hint`` (OpenID Connect Core
1.0 §3.1.2.1). No match sends the user back to the password form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens, pre_session_cookie_name, same_origin
from menshen.access.forms import parse_form
from menshen.access.pages import Pages
from menshen.access.signin import SignIn
from menshen.access.sso_clients import ProviderClients
from menshen.errors import InvalidInput
from menshen.events.model import Outcome
from menshen.gateway.contract import Handle, Respond, Verdict
from menshen.sessions.cookies import read_cookie
from menshen.settings import IdentityProviderSettings

__all__ = ["DISCOVER_EVENT", "DISCOVER_PATH", "NO_SSO_FOR_DOMAIN", "EmailRouting"]

DISCOVER_PATH = "/.menshen/oidc/discover"
DISCOVER_EVENT = "sso.discover"
NO_SSO_FOR_DOMAIN = "No single sign-on for that domain; sign in with your password."
_MAX_EMAIL = 254  # RFC 5321 §4.5.3.1.3

Begin = Callable[[Context, IdentityProviderSettings, str, dict[str, str]], Awaitable[Respond]]


class EmailRouting:
    def __init__(
        self,
        *,
        clients: ProviderClients,
        csrf: CsrfTokens,
        signin: SignIn,
        pages: Pages,
        audit: PageAudit,
        begin: Begin,
    ) -> None:
        self._clients = clients
        self._csrf = csrf
        self._signin = signin
        self._pages = pages
        self._audit = audit
        self._begin = begin

    def submit(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._submit(Context(head, ctx.tenant_id), body))

    async def _submit(self, ctx: Context, body: bytes) -> Respond:
        head = ctx.head
        try:
            form = parse_form(body, head.header("content-type"))
        except InvalidInput:
            return self._refused(ctx, "malformed single sign-on email form")
        binding = read_cookie(head.header_values("cookie"), pre_session_cookie_name(head.scheme))
        origin_ok = same_origin(
            head.header("origin"), scheme=head.scheme, host=head.host, port=head.port
        )
        if (
            binding is None
            or not origin_ok
            or not self._csrf.check(binding, "login", form.get("csrf"))
        ):
            return self._refused(ctx, "email form without a valid CSRF token or cross-origin")
        rd = self._signin.return_target(head, form.get("rd"), form.get("sig"))
        if rd is None:
            self._audit.attack(ctx, "altered sign-in link", f"rd={form.get('rd')!r}")
            return self._pages.message(
                tenant_id=ctx.tenant_id,
                status=400,
                heading="This link was changed",
                message="The sign-in link was altered or is not valid. Start again from the app.",
            )
        email = form.get("email", "").strip().lower()[: _MAX_EMAIL + 1]
        provider = None
        if 0 < len(email) <= _MAX_EMAIL and email.count("@") == 1:
            provider = self._clients.for_email(ctx.tenant_id, email)
        if provider is None:
            domain = email.rpartition("@")[2][:100]
            self._audit.record(
                ctx,
                DISCOVER_EVENT,
                Outcome.FAILURE,
                None,
                "no provider for the email domain",
                domain=domain,
            )
            return self._signin.login_form(ctx, rd, binding, error=NO_SSO_FOR_DOMAIN)
        return await self._begin(ctx, provider, rd, {"login_hint": email})

    def _refused(self, ctx: Context, detail: str) -> Respond:
        self._audit.attack(ctx, "forged or malformed form", detail)
        return self._pages.message(
            tenant_id=ctx.tenant_id,
            status=403,
            heading="Form expired",
            message="This form expired or did not come from this site. Go back and try again.",
        )
