"""Passkey ceremonies of a signed-in user: add a passkey, and use one as second factor.

The browser side (``/.menshen/static/passkey.js``) runs the WebAuthn ceremonies (W3C
WebAuthn Level 2 §7.1 registration, §7.2 authentication) against JSON endpoints. Each call
must come from this origin (see ``passkey_calls``) and carry a CSRF token bound to the
session (OWASP CSRF Prevention Cheat Sheet). The ceremony's challenge stays in the store,
bound to the session id; the browser only carries the opaque ceremony id.

A verified assertion elevates the session (a new session id, ``mfa_method="webauthn"``):
as the second factor after a password, as the step-up a rule asks for, or as the
re-authentication before a sensitive change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens
from menshen.access.pages import json_response, problem_json
from menshen.access.passkey_calls import (
    PasskeysFor,
    credential_of,
    json_call,
    options_response,
    service_for,
    text_of,
)
from menshen.access.signin import SessionFinder, SignIn
from menshen.errors import InvalidInput
from menshen.events.model import Kind, Outcome
from menshen.gateway.contract import Handle, Respond, Verdict
from menshen.identity.passkeys import PasskeyFailed
from menshen.store.records import SessionRecord

__all__ = ["CSRF_PURPOSE", "PasskeyPages", "PasskeysFor"]

PASSKEY_REGISTERED = "passkey.registered"
CSRF_PURPOSE = "passkey"
MANAGE_PAGE = "/.menshen/passkeys"
GENERIC_PASSKEY_ERROR = "That passkey could not be verified. Try again, or enter a code."


class PasskeyPages:
    def __init__(
        self,
        *,
        passkeys: PasskeysFor,
        signin: SignIn,
        find_session: SessionFinder,
        signed_in: Callable[[str, SessionRecord], bool],
        csrf: CsrfTokens,
        audit: PageAudit,
    ) -> None:
        self._passkeys = passkeys
        self._signin = signin
        self._find_session = find_session
        self._signed_in = signed_in
        self._csrf = csrf
        self._audit = audit
        self._script = files("menshen.access").joinpath("static/passkey.js").read_bytes()

    # -- static script --------------------------------------------------------------------
    def script(self, ctx: Context) -> Respond:
        headers = (
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", "no-cache"),
            ("x-content-type-options", "nosniff"),
        )
        return Respond(200, headers, self._script)

    # -- registration (§7.1) --------------------------------------------------------------
    def register_options(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._register_options(Context(head, ctx.tenant_id), body))

    async def _register_options(self, ctx: Context, body: bytes) -> Respond:
        checked = self._registering(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, _, _ = checked
        service = service_for(self._passkeys, ctx)
        try:
            start = await asyncio.to_thread(service.begin_registration, session.user_id, session.id)
        except PasskeyFailed as exc:
            return self._failed(ctx, session, exc.reason_for_audit, "register")
        return options_response(start)

    def register_verify(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._register_verify(Context(head, ctx.tenant_id), body))

    async def _register_verify(self, ctx: Context, body: bytes) -> Respond:
        checked = self._registering(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, back, data = checked
        service = service_for(self._passkeys, ctx)
        try:
            record = await asyncio.to_thread(
                service.finish_registration,
                text_of(data, "ceremony_id") or "",
                session.id,
                credential_of(data),
                text_of(data, "name") or "Passkey",
            )
        except PasskeyFailed as exc:
            return self._failed(ctx, session, exc.reason_for_audit, "register")
        except InvalidInput:
            return self._failed(ctx, session, "invalid_passkey_name", "register")
        self._audit.record(
            ctx,
            PASSKEY_REGISTERED,
            Outcome.SUCCESS,
            session,
            "webauthn",
            name=record.name,
            aaguid=record.aaguid,
        )
        return json_response(200, {"redirect": back})

    def _registering(
        self, ctx: Context, body: bytes
    ) -> tuple[SessionRecord, str, dict[str, Any]] | Respond:
        """A checked call from a user who finished signing in (a password alone cannot add a
        passkey to an account that owes a second factor), and where to go afterwards."""
        checked = self._checked_call(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, data = checked
        if not self._signed_in(ctx.tenant_id, session):
            return self._failed(ctx, session, "second_factor_required", "register", 403)
        if text_of(data, "rd") is None:
            return session, MANAGE_PAGE, data
        back = self._signin.return_target(ctx.head, text_of(data, "rd"), text_of(data, "sig"))
        if back is None:
            return self._altered(ctx, data)
        return session, back, data

    # -- authentication as a second factor, step-up or re-verification (§7.2) -------------
    def auth_options(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._auth_options(Context(head, ctx.tenant_id), body))

    async def _auth_options(self, ctx: Context, body: bytes) -> Respond:
        checked = self._signing_in(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, _, _ = checked
        service = service_for(self._passkeys, ctx)
        start = await asyncio.to_thread(service.begin_authentication, session.id, session.user_id)
        return options_response(start)

    def auth_verify(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._auth_verify(Context(head, ctx.tenant_id), body))

    async def _auth_verify(self, ctx: Context, body: bytes) -> Respond:
        checked = self._signing_in(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, rd, data = checked
        service = service_for(self._passkeys, ctx)
        try:
            login = await asyncio.to_thread(
                service.finish_authentication,
                text_of(data, "ceremony_id") or "",
                session.id,
                credential_of(data),
            )
        except PasskeyFailed as exc:
            return self._failed(ctx, session, exc.reason_for_audit, "webauthn")
        if login.user_id != session.user_id:  # the service checks this too; fail closed
            return self._failed(ctx, session, "credential_of_another_user", "webauthn")
        elevated = await self._signin.elevate(ctx, session, "webauthn", rd)
        cookies = tuple(value for key, value in elevated.headers if key == "set-cookie")
        location = next(value for key, value in elevated.headers if key == "location")
        return json_response(200, {"redirect": location}, set_cookies=cookies)

    def _signing_in(
        self, ctx: Context, body: bytes
    ) -> tuple[SessionRecord, str, dict[str, Any]] | Respond:
        checked = self._checked_call(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, data = checked
        rd = self._signin.return_target(ctx.head, text_of(data, "rd"), text_of(data, "sig"))
        if rd is None:
            return self._altered(ctx, data)
        return session, rd, data

    # -- shared pieces --------------------------------------------------------------------
    def _checked_call(
        self, ctx: Context, body: bytes
    ) -> tuple[SessionRecord, dict[str, Any]] | Respond:
        """Same origin (Origin required), JSON, a session, and its CSRF token."""
        data = json_call(ctx.head, body)
        if data is None:
            return self._forged(ctx, "passkey call cross-origin, not JSON or malformed")
        session, _ = self._find_session(ctx.head, ctx.tenant_id)
        if session is None:
            return problem_json(401, "Unauthorized", "Sign in first.")
        if not self._csrf.check(session.id, CSRF_PURPOSE, text_of(data, "csrf")):
            return self._forged(ctx, "passkey call without a valid CSRF token")
        return session, data

    def _failed(
        self, ctx: Context, session: SessionRecord, reason: str, method: str, status: int = 401
    ) -> Respond:
        self._audit.record(ctx, Kind.MFA_FAILURE, Outcome.FAILURE, session, reason, method=method)
        return problem_json(status, "Passkey not accepted", GENERIC_PASSKEY_ERROR)

    def _altered(self, ctx: Context, data: dict[str, Any]) -> Respond:
        self._audit.attack(ctx, "altered sign-in link", f"rd={data.get('rd')!r}")
        return problem_json(400, "Bad Request", "The sign-in link was altered.")

    def _forged(self, ctx: Context, detail: str) -> Respond:
        self._audit.attack(ctx, "forged or malformed passkey call", detail)
        return problem_json(403, "Forbidden", "This request did not come from this site.")
