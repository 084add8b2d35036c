"""``/.menshen/authenticators``: the user's ways to verify — TOTP, recovery codes, passkeys.

Shows whether an authenticator app (RFC 6238 TOTP) is set up, how many recovery codes
(NIST SP 800-63B §5.1.2, look-up secrets) are still unused, and how many passkeys the user
holds. Recovery codes can be replaced with a fresh set after a verification within the last
five minutes (see ``selfservice``); the new codes are shown once and only their hashes kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from menshen.access.audit import Context, PageAudit
from menshen.access.pages import Pages, redirect
from menshen.access.passkey_calls import PasskeysFor, service_for
from menshen.access.selfservice import (
    SelfService,
    reauth_link,
    recently_reauthenticated,
    signed_link,
)
from menshen.clock import Clock
from menshen.errors import InvalidInput
from menshen.events.model import Outcome
from menshen.gateway.contract import Handle, Respond, Verdict
from menshen.identity.service import IdentityService
from menshen.store.records import SessionRecord

__all__ = ["Authenticators"]

PAGE = "/.menshen/authenticators"
FORM_PURPOSE = "recovery"
RECOVERY_REGENERATED = "recovery_codes.regenerated"


class Authenticators:
    def __init__(
        self,
        *,
        identities: Callable[[str], IdentityService],
        passkeys: PasskeysFor,
        selfservice: SelfService,
        pages: Pages,
        audit: PageAudit,
        clock: Clock,
    ) -> None:
        self._identities = identities
        self._passkeys = passkeys
        self._self = selfservice
        self._pages = pages
        self._audit = audit
        self._clock = clock

    # -- GET /.menshen/authenticators -----------------------------------------------------
    def page(self, ctx: Context) -> Verdict:
        found = self._self.session(ctx)
        if isinstance(found, Respond):
            return found
        return Handle(lambda head, body: self._render(ctx, found))

    async def _render(
        self, ctx: Context, session: SessionRecord, *, error: str | None = None, status: int = 200
    ) -> Respond:
        identity = self._identities(ctx.tenant_id)
        service = service_for(self._passkeys, ctx)

        def facts() -> tuple[bool, int, int, int]:
            passkeys = service.list_passkeys(session.user_id)
            cloned = sum(1 for p in passkeys if p.cloned_at is not None)
            return (
                identity.has_totp(session.user_id),
                identity.recovery_codes_left(session.user_id),
                len(passkeys) - cloned,
                cloned,
            )

        totp, codes_left, passkeys, cloned = await asyncio.to_thread(facts)
        signer = self._self.signer
        return self._pages.render(
            "authenticators.html",
            tenant_id=ctx.tenant_id,
            status=status,
            title="Your authenticators",
            totp=totp,
            codes_left=codes_left,
            passkeys=passkeys,
            cloned=cloned,
            enrol=signed_link(signer, "/.menshen/mfa/enrol", PAGE),
            fresh=recently_reauthenticated(session, self._clock.now()),
            reauth=reauth_link(signer, PAGE),
            csrf=self._self.csrf.token(session.id, FORM_PURPOSE),
            error=error,
        )

    # -- POST /.menshen/recovery-codes ----------------------------------------------------
    def regenerate(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._regenerate(Context(head, ctx.tenant_id), body))

    async def _regenerate(self, ctx: Context, body: bytes) -> Respond:
        checked = self._self.form(ctx, body, FORM_PURPOSE, PAGE)
        if isinstance(checked, Respond):
            return checked
        session, _ = checked
        if not recently_reauthenticated(session, self._clock.now()):
            self._record(ctx, session, "reauthentication_required")
            return redirect(reauth_link(self._self.signer, PAGE))
        identity = self._identities(ctx.tenant_id)
        try:
            codes = await asyncio.to_thread(identity.regenerate_recovery_codes, session.user_id)
        except InvalidInput:
            self._record(ctx, session, "no_totp")
            return await self._render(
                ctx, session, error="Set up an authenticator app first.", status=400
            )
        self._record(ctx, session)
        return self._pages.render(
            "recovery.html",
            tenant_id=ctx.tenant_id,
            title="Recovery codes",
            codes=codes,
            rd=PAGE,
        )

    def _record(self, ctx: Context, session: SessionRecord, refused: str | None = None) -> None:
        outcome = Outcome.SUCCESS if refused is None else Outcome.FAILURE
        reason = "by its user" if refused is None else refused
        self._audit.record(ctx, RECOVERY_REGENERATED, outcome, session, reason)
