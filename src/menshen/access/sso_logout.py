"""Signing out of the provider too (OpenID Connect RP-Initiated Logout 1.0 §2–§3).

When a session opened through single sign-on is signed out, the menshen session is revoked
(which deletes its provider login in the same transaction) and, if the provider is configured
for it (``logout_at_provider``) and publishes an ``end_session_endpoint``, the browser is then
sent there with ``id_token_hint``, ``client_id``, ``post_logout_redirect_uri``
(``/.menshen/logged-out`` on the same host, which must be registered at the provider) and a
random ``state``. The menshen session is revoked before the redirect, whatever the provider
then does. The signed-out page takes no decision on
what comes back to it.
"""

from __future__ import annotations

import asyncio
import secrets

from menshen.access.audit import Context, PageAudit
from menshen.access.pages import Pages
from menshen.access.sso_clients import ProviderClients
from menshen.access.sso_sessions import FederatedSessions
from menshen.errors import InvalidInput, MenshenError
from menshen.events.model import Outcome
from menshen.gateway.contract import RequestHead, Respond, Verdict
from menshen.identity.oidc.model import FederationFailed
from menshen.store.records import SessionRecord

__all__ = ["LOGGED_OUT_PATH", "LOGOUT_EVENT", "ProviderLogout", "logged_out_uri"]

LOGGED_OUT_PATH = "/.menshen/logged-out"
LOGOUT_EVENT = "sso.logout"


def logged_out_uri(head: RequestHead) -> str:
    """The signed-out page on the host the user is on (the provider's post-logout URI)."""
    default = 443 if head.scheme == "https" else 80
    port = "" if head.port == default else f":{head.port}"
    return f"{head.scheme}://{head.host}{port}{LOGGED_OUT_PATH}"


class ProviderLogout:
    def __init__(
        self,
        *,
        clients: ProviderClients,
        federated: FederatedSessions,
        pages: Pages,
        audit: PageAudit,
    ) -> None:
        self._clients = clients
        self._federated = federated
        self._pages = pages
        self._audit = audit

    async def prepare(self, ctx: Context, session: SessionRecord) -> str | None:
        """The provider's end-session URL to send the browser to for ``session`` (about to
        be revoked, which deletes its provider login), or None to sign out of menshen only."""
        tenant = ctx.tenant_id
        try:
            record = await asyncio.to_thread(self._federated.of, session)
            if record is None:
                return None
        except MenshenError as exc:  # the menshen session must still end
            self._record(ctx, session, Outcome.FAILURE, f"store: {exc}", "")
            return None
        provider = self._clients.get(tenant, record.provider)
        if provider is None or not provider.logout_at_provider:
            return None
        try:
            hint = self._federated.vault.open_record(record, "id")
        except InvalidInput:
            hint = None  # the provider then asks the user which session to end
        client = self._clients.back_channel(tenant, provider)
        state = secrets.token_urlsafe(16)
        try:
            url = await asyncio.to_thread(client.logout_url, hint, logged_out_uri(ctx.head), state)
        except FederationFailed as exc:
            self._record(
                ctx,
                session,
                Outcome.FAILURE,
                f"provider unreachable: {exc.reason}",
                record.provider,
            )
            return None
        if url is None:
            self._record(
                ctx,
                session,
                Outcome.FAILURE,
                "provider has no end_session_endpoint",
                record.provider,
            )
            return None
        self._record(
            ctx, session, Outcome.SUCCESS, "sent to the provider to sign out", record.provider
        )
        return url

    def logged_out(self, ctx: Context) -> Verdict:
        """Where the provider sends the browser back: a plain page, no session needed."""
        return self._signed_out_page(ctx)

    def _signed_out_page(self, ctx: Context) -> Respond:
        return self._pages.render(
            "message.html",
            tenant_id=ctx.tenant_id,
            title="Signed out",
            heading="Signed out",
            message="You are signed out.",
            link="/.menshen/login",
            link_text="Sign in again",
        )

    def _record(
        self, ctx: Context, session: SessionRecord, outcome: str, reason: str, provider: str
    ) -> None:
        self._audit.record(ctx, LOGOUT_EVENT, outcome, session, reason[:300], provider=provider)
