"""Passwordless sign-in: "Sign in with a passkey" on ``/.menshen/login`` (W3C WebAuthn
Level 2 §7.2 with a discoverable credential; NIST SP 800-63B §5.1.9).

There is no session yet, so the two JSON endpoints are bound to the browser's pre-session
cookie, like the password form: the call must be same-origin (``Origin`` required) and JSON,
and carry the login form's CSRF token, an HMAC of that cookie (OWASP CSRF Prevention Cheat
Sheet, signed double-submit cookie; this is what stops login CSRF). The challenge is bound to
the same cookie, so a ceremony started in one browser cannot be finished in another.

A verified user-verifying passkey is a multi-factor authenticator: the new session starts at
``auth_level="mfa"``, ``mfa_method="webauthn"``, with a new id (OWASP Session Management
Cheat Sheet, renew the session id on sign-in), and the browser goes back to the signed
``rd``. Every refusal is one generic answer; the audit log gets the precise reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens, pre_session_cookie_name
from menshen.access.pages import json_response, problem_json
from menshen.access.passkey_calls import (
    credential_of,
    json_call,
    options_response,
    origin_of,
    text_of,
)
from menshen.access.signin import SessionFinder, SignIn
from menshen.clock import Clock
from menshen.events.model import Kind, Outcome
from menshen.gateway.contract import Handle, RequestHead, Respond, Verdict
from menshen.identity.passkeys import PasskeyFailed, PasswordlessSignIn
from menshen.sessions.cookies import cookie_name, read_cookie, set_cookie
from menshen.sessions.service import SessionService
from menshen.sessions.useragent import user_agent_family

__all__ = ["PasskeyLoginPages", "PasswordlessFor"]

# (tenant_id, rp_id, origin) -> the tenant's passwordless sign-in as seen from that origin.
PasswordlessFor = Callable[[str, str, str], PasswordlessSignIn]

LOGIN_CSRF_PURPOSE = "login"  # the login form's token: the same page starts both ways in
GENERIC_LOGIN_ERROR = "That passkey could not be used to sign in. Try again, or use a password."


class PasskeyLoginPages:
    def __init__(
        self,
        *,
        passwordless: PasswordlessFor,
        sessions: SessionService,
        find_session: SessionFinder,
        signin: SignIn,
        csrf: CsrfTokens,
        audit: PageAudit,
        clock: Clock,
        ensure_known: Callable[[str, str], Awaitable[None]],
        secure_cookies: Callable[[RequestHead], bool],
    ) -> None:
        self._passwordless = passwordless
        self._sessions = sessions
        self._find_session = find_session
        self._signin = signin
        self._csrf = csrf
        self._audit = audit
        self._clock = clock
        self._ensure_known = ensure_known
        self._secure = secure_cookies

    # -- POST /.menshen/passkey/login/options ---------------------------------------------
    def options(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._options(Context(head, ctx.tenant_id), body))

    async def _options(self, ctx: Context, body: bytes) -> Respond:
        checked = self._checked_call(ctx, body)
        if isinstance(checked, Respond):
            return checked
        binding, _, _ = checked
        try:
            start = await asyncio.to_thread(self._flow(ctx).begin, binding, ctx.head.client_ip)
        except PasskeyFailed as exc:
            return self._failed(ctx, exc.reason_for_audit)
        return options_response(start)

    # -- POST /.menshen/passkey/login/verify ----------------------------------------------
    def verify(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._verify(Context(head, ctx.tenant_id), body))

    async def _verify(self, ctx: Context, body: bytes) -> Respond:
        checked = self._checked_call(ctx, body)
        if isinstance(checked, Respond):
            return checked
        binding, rd, data = checked
        head = ctx.head
        try:
            login = await asyncio.to_thread(
                self._flow(ctx).finish,
                text_of(data, "ceremony_id") or "",
                binding,
                credential_of(data),
                head.client_ip,
            )
        except PasskeyFailed as exc:
            return self._failed(ctx, exc.reason_for_audit)
        # A user created moments ago may not be in the guard's snapshot yet.
        await self._ensure_known(ctx.tenant_id, login.user_id)
        old, _ = self._find_session(head, ctx.tenant_id)
        created = await self._sessions.create(
            ctx.tenant_id,
            login.user_id,
            user_agent_family=user_agent_family(head.header("user-agent")),
            ip=head.client_ip,
            auth_level="mfa",
            mfa_method="webauthn",
            mfa_at=login.at,
            replaces=None if old is None else old.id,  # a new sign-in: inherits no login
        )
        self._audit.record(
            ctx,
            Kind.LOGIN_SUCCESS,
            Outcome.SUCCESS,
            created.record,
            "webauthn",
            subject=login.user_id,
            method="passkey",
            credential=login.credential_id,
        )
        cookie = set_cookie(
            cookie_name(head.scheme), created.token, secure=self._secure(head), max_age=None
        )
        return json_response(200, {"redirect": rd}, set_cookies=(cookie,))

    # -- shared pieces --------------------------------------------------------------------
    def _checked_call(self, ctx: Context, body: bytes) -> tuple[str, str, dict[str, Any]] | Respond:
        """Same origin (required), JSON, the pre-session cookie and the login CSRF token
        made from it, and an unaltered return path: (binding, rd, data)."""
        head = ctx.head
        data = json_call(head, body)
        if data is None:
            return self._forged(ctx, "passkey sign-in call cross-origin, not JSON or malformed")
        binding = read_cookie(head.header_values("cookie"), pre_session_cookie_name(head.scheme))
        if binding is None or not self._csrf.check(
            binding, LOGIN_CSRF_PURPOSE, text_of(data, "csrf")
        ):
            return self._forged(ctx, "passkey sign-in call without a valid CSRF token")
        rd = self._signin.return_target(head, text_of(data, "rd"), text_of(data, "sig"))
        if rd is None:
            self._audit.attack(ctx, "altered sign-in link", f"rd={data.get('rd')!r}")
            return problem_json(400, "Bad Request", "The sign-in link was altered.")
        return binding, rd, data

    def _flow(self, ctx: Context) -> PasswordlessSignIn:
        return self._passwordless(ctx.tenant_id, ctx.head.host, origin_of(ctx.head))

    def _failed(self, ctx: Context, reason: str) -> Respond:
        self._audit.record(ctx, Kind.LOGIN_FAILURE, Outcome.FAILURE, None, reason, method="passkey")
        # One answer for every reason, a locked source included (like the password form).
        return problem_json(401, "Sign-in failed", GENERIC_LOGIN_ERROR)

    def _forged(self, ctx: Context, detail: str) -> Respond:
        self._audit.attack(ctx, "forged or malformed passkey call", detail)
        return problem_json(403, "Forbidden", "This request did not come from this site.")
