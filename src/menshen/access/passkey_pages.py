"""Passkey pages of the gateway: second factor at sign-in, and "my passkeys".

The browser side (``/.menshen/static/passkey.js``) runs the WebAuthn ceremonies (W3C
WebAuthn Level 2 §7.1 registration, §7.2 authentication) against four JSON endpoints.
Each call must come from this origin (the ``Origin`` header is required, not optional, on
these fetches), carry ``application/json`` and a CSRF token bound to the session (OWASP
CSRF Prevention Cheat Sheet). The ceremony's challenge stays in the store, bound to the
session id; the browser only carries the opaque ceremony id. The RP ID is the host the
browser is on and the only accepted origin is the one the request arrived on; hosts not
routed to a tenant never get here, so a forged ``Host`` cannot pick another RP ID.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens, same_origin
from menshen.access.pages import Pages, json_response, problem_json, redirect
from menshen.access.signin import SessionFinder, SignIn
from menshen.errors import InvalidInput
from menshen.events.model import Kind, Outcome
from menshen.gateway.contract import Handle, Respond, Verdict
from menshen.identity.passkeys import PasskeyFailed, PasskeyService
from menshen.identity.service import IdentityService
from menshen.store.records import SessionRecord

__all__ = ["PasskeyPages", "PasskeysFor"]

# (tenant_id, rp_id, origin) -> the tenant's passkey service as seen from that origin.
PasskeysFor = Callable[[str, str, str], PasskeyService]

PASSKEY_REGISTERED = "passkey.registered"
CSRF_PURPOSE = "passkey"
GENERIC_PASSKEY_ERROR = "That passkey could not be verified. Try again, or enter a code."


class PasskeyPages:
    def __init__(
        self,
        *,
        passkeys: PasskeysFor,
        signin: SignIn,
        find_session: SessionFinder,
        identities: Callable[[str], IdentityService],
        pages: Pages,
        csrf: CsrfTokens,
        audit: PageAudit,
    ) -> None:
        self._passkeys = passkeys
        self._signin = signin
        self._find_session = find_session
        self._identities = identities
        self._pages = pages
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

    # -- /.menshen/passkeys ---------------------------------------------------------------
    def manage_page(self, ctx: Context) -> Verdict:
        session, _ = self._find_session(ctx.head, ctx.tenant_id)
        if session is None:
            return redirect("/.menshen/login")
        return Handle(lambda head, body: self._manage(ctx, session))

    async def _manage(self, ctx: Context, session: SessionRecord) -> Respond:
        service = self._service(ctx)
        records = await asyncio.to_thread(service.list_passkeys, session.user_id)
        rows = [
            {
                "name": r.name,
                "created": r.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                "last_used": (
                    "never"
                    if r.last_used_at is None
                    else r.last_used_at.strftime("%Y-%m-%d %H:%M UTC")
                ),
                "cloned": r.cloned_at is not None,
            }
            for r in records
        ]
        return self._pages.render(
            "passkeys.html",
            tenant_id=ctx.tenant_id,
            scripts=True,
            title="Your passkeys",
            passkeys=rows,
            csrf_passkey=self._csrf.token(session.id, CSRF_PURPOSE),
        )

    # -- registration (§7.1) --------------------------------------------------------------
    def register_options(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._register_options(Context(head, ctx.tenant_id), body))

    async def _register_options(self, ctx: Context, body: bytes) -> Respond:
        checked = await self._registering(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, _ = checked
        service = self._service(ctx)
        try:
            start = await asyncio.to_thread(service.begin_registration, session.user_id, session.id)
        except PasskeyFailed as exc:
            return self._failed(ctx, session, exc.reason_for_audit, "register")
        return _options(start.ceremony_id, start.options_json)

    def register_verify(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._register_verify(Context(head, ctx.tenant_id), body))

    async def _register_verify(self, ctx: Context, body: bytes) -> Respond:
        checked = await self._registering(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, data = checked
        service = self._service(ctx)
        try:
            record = await asyncio.to_thread(
                service.finish_registration,
                _text(data, "ceremony_id") or "",
                session.id,
                _credential(data),
                _text(data, "name") or "Passkey",
            )
        except PasskeyFailed as exc:
            return self._failed(ctx, session, exc.reason_for_audit, "register")
        except InvalidInput:
            return self._failed(ctx, session, "invalid_passkey_name", "register")
        self._audit.record(
            ctx, PASSKEY_REGISTERED, Outcome.SUCCESS, session, "webauthn", name=record.name
        )
        return json_response(200, {"redirect": "/.menshen/passkeys"})

    async def _registering(
        self, ctx: Context, body: bytes
    ) -> tuple[SessionRecord, dict[str, Any]] | Respond:
        """A checked call from a fully signed-in user (a password alone cannot add a passkey
        to an account that has a second factor)."""
        checked = self._checked_call(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, data = checked
        if session.auth_level != "mfa":
            identity = self._identities(ctx.tenant_id)
            if await asyncio.to_thread(identity.has_totp, session.user_id):
                return self._failed(ctx, session, "second_factor_required", "register", 403)
        return session, data

    # -- authentication as a second factor (§7.2) -----------------------------------------
    def auth_options(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._auth_options(Context(head, ctx.tenant_id), body))

    async def _auth_options(self, ctx: Context, body: bytes) -> Respond:
        checked = self._signing_in(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, _, _ = checked
        service = self._service(ctx)
        start = await asyncio.to_thread(service.begin_authentication, session.id, session.user_id)
        return _options(start.ceremony_id, start.options_json)

    def auth_verify(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._auth_verify(Context(head, ctx.tenant_id), body))

    async def _auth_verify(self, ctx: Context, body: bytes) -> Respond:
        checked = self._signing_in(ctx, body)
        if isinstance(checked, Respond):
            return checked
        session, rd, data = checked
        service = self._service(ctx)
        try:
            login = await asyncio.to_thread(
                service.finish_authentication,
                _text(data, "ceremony_id") or "",
                session.id,
                _credential(data),
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
        rd = self._signin.return_target(ctx.head, _text(data, "rd"), _text(data, "sig"))
        if rd is None:
            self._audit.attack(ctx, "altered sign-in link", f"rd={data.get('rd')!r}")
            return problem_json(400, "Bad Request", "The sign-in link was altered.")
        return session, rd, data

    # -- shared pieces --------------------------------------------------------------------
    def _checked_call(
        self, ctx: Context, body: bytes
    ) -> tuple[SessionRecord, dict[str, Any]] | Respond:
        """Same origin (Origin required), JSON, a session, and its CSRF token."""
        head = ctx.head
        origin = head.header("origin")
        content_type = (head.header("content-type") or "").split(";")[0].strip().lower()
        if (
            origin is None
            or not same_origin(origin, scheme=head.scheme, host=head.host, port=head.port)
            or content_type != "application/json"
        ):
            return self._forged(ctx, "passkey call cross-origin or not JSON")
        try:
            data = json.loads(body)
        except ValueError:
            return self._forged(ctx, "passkey call with malformed JSON")
        if not isinstance(data, dict):
            return self._forged(ctx, "passkey call with malformed JSON")
        session, _ = self._find_session(head, ctx.tenant_id)
        if session is None:
            return problem_json(401, "Unauthorized", "Sign in first.")
        if not self._csrf.check(session.id, CSRF_PURPOSE, _text(data, "csrf")):
            return self._forged(ctx, "passkey call without a valid CSRF token")
        return session, data

    def _service(self, ctx: Context) -> PasskeyService:
        head = ctx.head
        default = 443 if head.scheme == "https" else 80
        port = "" if head.port == default else f":{head.port}"
        return self._passkeys(ctx.tenant_id, head.host, f"{head.scheme}://{head.host}{port}")

    def _failed(
        self, ctx: Context, session: SessionRecord, reason: str, method: str, status: int = 401
    ) -> Respond:
        self._audit.record(ctx, Kind.MFA_FAILURE, Outcome.FAILURE, session, reason, method=method)
        return problem_json(status, "Passkey not accepted", GENERIC_PASSKEY_ERROR)

    def _forged(self, ctx: Context, detail: str) -> Respond:
        self._audit.attack(ctx, "forged or malformed passkey call", detail)
        return problem_json(403, "Forbidden", "This request did not come from this site.")


def _options(ceremony_id: str, options_json: str) -> Respond:
    return json_response(200, {"ceremony_id": ceremony_id, "publicKey": json.loads(options_json)})


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _credential(data: dict[str, Any]) -> dict[str, Any]:
    value = data.get("credential")
    if not isinstance(value, dict):
        raise PasskeyFailed("malformed_credential")
    return value
