"""``/.menshen/passkeys``: the user's passkeys — list, add, rename, remove.

Listing shows each passkey's name, when it was added and last used, and whether it was
disabled as a clone (its signature counter went backwards, W3C WebAuthn Level 2 §6.1.1).
Renaming is a plain form. Removing one needs a verification within the last five minutes
(see ``selfservice``): a stolen session cookie alone must not strip the account of its
phishing-resistant factor. Every change, and every refused change, is audited.

Adding runs in the browser (``passkey.js``, see ``passkey_pages``). When a rule required a
passkey the user did not have, the verification page links here with the signed return
path, and the new passkey's registration sends the browser back there.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from urllib.parse import parse_qsl

from menshen.access.audit import Context, PageAudit
from menshen.access.pages import Pages, redirect
from menshen.access.passkey_calls import PasskeysFor, service_for
from menshen.access.passkey_pages import CSRF_PURPOSE as REGISTER_CSRF_PURPOSE
from menshen.access.selfservice import (
    SelfService,
    last_verified,
    reauth_link,
    recently_reauthenticated,
)
from menshen.access.signin import SignIn
from menshen.clock import Clock
from menshen.errors import InvalidInput, NotFound
from menshen.events.model import Outcome
from menshen.gateway.contract import Handle, Respond, Verdict
from menshen.identity.passkeys import PasskeyFailed
from menshen.store.records import SessionRecord, WebAuthnCredentialRecord

__all__ = ["PasskeyManage"]

PAGE = "/.menshen/passkeys"
FORM_PURPOSE = "passkeys"
PASSKEY_RENAMED = "passkey.renamed"
PASSKEY_REMOVED = "passkey.removed"


class PasskeyManage:
    def __init__(
        self,
        *,
        passkeys: PasskeysFor,
        signin: SignIn,
        selfservice: SelfService,
        pages: Pages,
        audit: PageAudit,
        clock: Clock,
    ) -> None:
        self._passkeys = passkeys
        self._signin = signin
        self._self = selfservice
        self._pages = pages
        self._audit = audit
        self._clock = clock

    # -- GET /.menshen/passkeys -----------------------------------------------------------
    def page(self, ctx: Context) -> Verdict:
        found = self._self.session(ctx)
        if isinstance(found, Respond):
            return found
        query = dict(parse_qsl(ctx.head.query))
        back: str | None = None
        if "rd" in query or "sig" in query:
            back = self._signin.return_target(ctx.head, query.get("rd"), query.get("sig"))
            if back is None:
                self._audit.attack(ctx, "altered sign-in link", f"rd={query.get('rd')!r}")
                return self._pages.message(
                    tenant_id=ctx.tenant_id,
                    status=400,
                    heading="This link was changed",
                    message="The link was altered or is not valid. Start again from the app.",
                    link=PAGE,
                )
        return Handle(lambda head, body: self._render(ctx, found, back))

    async def _render(
        self,
        ctx: Context,
        session: SessionRecord,
        back: str | None = None,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Respond:
        service = service_for(self._passkeys, ctx)
        records = await asyncio.to_thread(service.list_passkeys, session.user_id)
        signer, csrf = self._self.signer, self._self.csrf
        return self._pages.render(
            "passkeys.html",
            tenant_id=ctx.tenant_id,
            status=status,
            scripts=True,
            title="Your passkeys",
            passkeys=[_row(record) for record in records],
            csrf_passkey=csrf.token(session.id, REGISTER_CSRF_PURPOSE),
            csrf=csrf.token(session.id, FORM_PURPOSE),
            rd=back or "",
            sig=signer.sign(back) if back else "",
            fresh=recently_reauthenticated(session, self._clock.now()),
            reauth=reauth_link(signer, PAGE),
            error=error,
        )

    # -- POST /.menshen/passkeys/rename ---------------------------------------------------
    def rename(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._rename(Context(head, ctx.tenant_id), body))

    async def _rename(self, ctx: Context, body: bytes) -> Respond:
        checked = self._self.form(ctx, body, FORM_PURPOSE, PAGE)
        if isinstance(checked, Respond):
            return checked
        session, form = checked
        credential_id = form.get("credential", "")[:512]
        service = service_for(self._passkeys, ctx)
        try:
            await asyncio.to_thread(
                service.rename_passkey, session.user_id, credential_id, form.get("name", "")
            )
        except InvalidInput:
            self._changed(ctx, PASSKEY_RENAMED, session, credential_id, "invalid_passkey_name")
            return await self._render(
                ctx, session, error="A name needs 1 to 64 printable characters.", status=400
            )
        except NotFound:
            self._changed(ctx, PASSKEY_RENAMED, session, credential_id, "no_such_passkey")
            return await self._render(ctx, session, error="No such passkey.", status=404)
        self._changed(ctx, PASSKEY_RENAMED, session, credential_id)
        return redirect(PAGE)

    # -- POST /.menshen/passkeys/remove ---------------------------------------------------
    def remove(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._remove(Context(head, ctx.tenant_id), body))

    async def _remove(self, ctx: Context, body: bytes) -> Respond:
        checked = self._self.form(ctx, body, FORM_PURPOSE, PAGE)
        if isinstance(checked, Respond):
            return checked
        session, form = checked
        credential_id = form.get("credential", "")[:512]
        service = service_for(self._passkeys, ctx)
        try:
            await asyncio.to_thread(
                service.remove_passkey,
                session.user_id,
                credential_id,
                reauthenticated_at=last_verified(session),
            )
        except PasskeyFailed as exc:
            # Stale: verify again (passkey or code), come back, and press Remove once more.
            self._changed(ctx, PASSKEY_REMOVED, session, credential_id, exc.reason_for_audit)
            return redirect(reauth_link(self._self.signer, PAGE))
        except NotFound:
            self._changed(ctx, PASSKEY_REMOVED, session, credential_id, "no_such_passkey")
            return await self._render(ctx, session, error="No such passkey.", status=404)
        self._changed(ctx, PASSKEY_REMOVED, session, credential_id)
        return redirect(PAGE)

    def _changed(
        self,
        ctx: Context,
        kind: str,
        session: SessionRecord,
        credential_id: str,
        refused: str | None = None,
    ) -> None:
        outcome = Outcome.SUCCESS if refused is None else Outcome.FAILURE
        reason = "by its user" if refused is None else refused
        self._audit.record(ctx, kind, outcome, session, reason, credential=credential_id[:128])


def _row(record: WebAuthnCredentialRecord) -> dict[str, object]:
    return {
        "id": record.credential_id,
        "name": record.name,
        "created": _when(record.created_at),
        "last_used": "never" if record.last_used_at is None else _when(record.last_used_at),
        "cloned": record.cloned_at is not None,
    }


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")
