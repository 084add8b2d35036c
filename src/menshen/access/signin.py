"""Sign-in pages: password, second factor, TOTP enrolment (``/.menshen/login``, ``/mfa``).

Every change of authentication state issues a new session id (session fixation,
OWASP Session Management Cheat Sheet §"Renew the Session ID After Any Privilege Level
Change"): after the password, and again after the second factor. Failures look the same
whatever failed; the reason goes only to the audit log.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens, pre_session_cookie_name, same_origin
from menshen.access.forms import parse_form
from menshen.access.pages import Pages, redirect
from menshen.access.returnto import ReturnSigner, safe_return_path
from menshen.clock import Clock
from menshen.errors import AuthenticationFailed, InvalidInput
from menshen.events.model import Kind, Outcome
from menshen.gateway.contract import Handle, RequestHead, Respond, Verdict
from menshen.identity.model import LoginOk
from menshen.identity.service import IdentityService
from menshen.sessions.cookies import cookie_name, read_cookie, set_cookie
from menshen.sessions.service import SessionService
from menshen.sessions.useragent import user_agent_family
from menshen.store.records import SessionRecord

SessionFinder = Callable[[RequestHead, str], tuple[SessionRecord | None, str]]

GENERIC_LOGIN_ERROR = "The username or password is wrong, or sign-in is paused. Try again later."
GENERIC_MFA_ERROR = "That code is not valid. Try the current code, or a recovery code."
# What /.menshen/mfa may be asked for: only a passkey will do (a rule needs phishing-resistant
# MFA), or a re-verification before a sensitive change.
MFA_NEEDS = frozenset({"passkey", "reauth"})


@dataclass(frozen=True, slots=True)
class _Step:
    """A second-factor form that passed its checks: whose session, where to go after."""

    session: SessionRecord
    rd: str
    form: dict[str, str]


class SignIn:
    def __init__(
        self,
        *,
        identities: Callable[[str], IdentityService],
        sessions: SessionService,
        find_session: SessionFinder,
        pages: Pages,
        signer: ReturnSigner,
        csrf: CsrfTokens,
        audit: PageAudit,
        clock: Clock,
        issuer_name: Callable[[str], str],
        secure_cookies: Callable[[RequestHead], bool],
        ensure_known: Callable[[str, str], Awaitable[None]],
        has_passkey: Callable[[str, str], bool] | None = None,
        sso_links: Callable[[str, str], list[tuple[str, str]]] | None = None,
        sso_by_email: Callable[[str], bool] | None = None,
    ) -> None:
        self._identities = identities
        self._sessions = sessions
        self._find_session = find_session
        self._pages = pages
        self._signer = signer
        self._csrf = csrf
        self._audit = audit
        self._clock = clock
        self._issuer_name = issuer_name
        self._secure = secure_cookies
        self._ensure_known = ensure_known
        self._has_passkey = has_passkey
        self._sso_links = sso_links
        self._sso_by_email = sso_by_email

    # -- return target ------------------------------------------------------------------
    def return_target(self, head: RequestHead, rd: str | None, sig: str | None) -> str | None:
        """The signed, safe local path to go back to; '/' when none was given; None if altered."""
        if rd is None and sig is None:
            return "/"
        if rd is None or sig is None or not self._signer.check(rd, sig):
            return None
        return safe_return_path(rd, scheme=head.scheme, host=head.host, port=head.port)

    def _link(self, page: str, rd: str) -> str:
        return f"{page}?rd={quote(rd, safe='')}&sig={self._signer.sign(rd)}"

    def _bad_link(self, ctx: Context, detail: str) -> Respond:
        self._audit.attack(ctx, "altered sign-in link", detail)
        return self._pages.message(
            tenant_id=ctx.tenant_id,
            status=400,
            heading="This link was changed",
            message="The sign-in link was altered or is not valid. Start again from the app.",
        )

    # -- /.menshen/login ----------------------------------------------------------------
    def login_page(self, ctx: Context) -> Verdict:
        query = dict(parse_qsl(ctx.head.query, keep_blank_values=True))
        rd = self.return_target(ctx.head, query.get("rd"), query.get("sig"))
        if rd is None:
            return self._bad_link(ctx, f"rd={query.get('rd')!r}")
        name = pre_session_cookie_name(ctx.head.scheme)
        binding = read_cookie(ctx.head.header_values("cookie"), name)
        cookies: tuple[str, ...] = ()
        if binding is None:
            binding = secrets.token_urlsafe(32)
            cookies = (set_cookie(name, binding, secure=self._secure(ctx.head), max_age=3600),)
        return self._login_form(ctx, rd, binding, cookies=cookies)

    def login_form(
        self, ctx: Context, rd: str, binding: str, *, error: str | None = None
    ) -> Respond:
        """The sign-in page for a browser whose pre-session ``binding`` is known, with an
        ``error`` (single sign-on by email domain sends users back here)."""
        return self._login_form(ctx, rd, binding, error=error)

    def _login_form(
        self,
        ctx: Context,
        rd: str,
        binding: str,
        *,
        error: str | None = None,
        username: str = "",
        status: int = 200,
        cookies: tuple[str, ...] = (),
    ) -> Respond:
        return self._pages.render(
            "login.html",
            tenant_id=ctx.tenant_id,
            status=status,
            set_cookies=cookies,
            title="Sign in",
            csrf=self._csrf.token(binding, "login"),
            rd=rd,
            sig=self._signer.sign(rd),
            error=error,
            username=username,
            providers=[] if self._sso_links is None else self._sso_links(ctx.tenant_id, rd),
            sso_by_email=self._sso_by_email is not None and self._sso_by_email(ctx.tenant_id),
            scripts=self._has_passkey is not None,
            passkey_login=self._has_passkey is not None,
        )

    def login_submit(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._login(Context(head, ctx.tenant_id), body))

    async def _login(self, ctx: Context, body: bytes) -> Respond:
        head = ctx.head
        form = self._form(body, head)
        if form is None:
            return self._refused(ctx, "malformed login form")
        binding = read_cookie(head.header_values("cookie"), pre_session_cookie_name(head.scheme))
        if (
            binding is None
            or not self._origin_ok(head)
            or not self._csrf.check(binding, "login", form.get("csrf"))
        ):
            return self._refused(ctx, "login form without a valid CSRF token or cross-origin")
        rd = self.return_target(head, form.get("rd"), form.get("sig"))
        if rd is None:
            return self._bad_link(ctx, f"rd={form.get('rd')!r}")
        username = form.get("username", "")[:128]
        identity = self._identities(ctx.tenant_id)
        result = await asyncio.to_thread(
            identity.authenticate, username, form.get("password", ""), head.client_ip
        )
        if not isinstance(result, LoginOk):
            self._audit.record(
                ctx,
                Kind.LOGIN_FAILURE,
                Outcome.FAILURE,
                None,
                result.reason_for_audit,
                subject=username,
                locked_until=str(result.locked_until or ""),
            )
            return self._login_form(
                ctx, rd, binding, error=GENERIC_LOGIN_ERROR, username=username, status=401
            )
        # A user created moments ago may not be in the guard's snapshot yet.
        await self._ensure_known(ctx.tenant_id, result.user.id)
        old, _ = self._find_session(head, ctx.tenant_id)
        created = await self._sessions.create(
            ctx.tenant_id,
            result.user.id,
            user_agent_family=user_agent_family(head.header("user-agent")),
            ip=head.client_ip,
            auth_level="password",
            replaces=None if old is None else old.id,  # a new sign-in: inherits no login
        )
        self._audit.record(
            ctx,
            Kind.LOGIN_SUCCESS,
            Outcome.SUCCESS,
            created.record,
            "password",
            subject=result.user.username,
        )
        cookie = self._session_cookie(head, created.token)
        if result.needs_second_factor:
            page = "/.menshen/mfa" if result.mfa_enrolled else "/.menshen/mfa/enrol"
            return redirect(self._link(page, rd), set_cookies=(cookie,))
        return redirect(rd, set_cookies=(cookie,))

    # -- /.menshen/mfa ------------------------------------------------------------------
    def mfa_page(self, ctx: Context) -> Verdict:
        query = dict(parse_qsl(ctx.head.query))
        found = self._second_factor_session(ctx, query)
        if isinstance(found, Respond):
            return found
        session, rd = found
        # ``need`` (from the guard's step-up link, or a self-service page) only shapes the
        # page; the guard still judges whatever factor the session ends up with.
        need = query.get("need") if query.get("need") in MFA_NEEDS else None
        return Handle(lambda head, body: self._mfa_form(ctx, session, rd, need=need))

    async def _mfa_form(
        self,
        ctx: Context,
        session: SessionRecord,
        rd: str,
        error: str | None = None,
        *,
        need: str | None = None,
    ) -> Respond:
        identity = self._identities(ctx.tenant_id)
        has_totp = await asyncio.to_thread(identity.has_totp, session.user_id)
        passkey = self._has_passkey is not None and await asyncio.to_thread(
            self._has_passkey, ctx.tenant_id, session.user_id
        )
        if not has_totp and not passkey and need != "passkey":
            return redirect(self._link("/.menshen/mfa/enrol", rd))
        reason = "Your access needs a fresh second factor." if session.auth_level == "mfa" else None
        return self._pages.render(
            "mfa.html",
            tenant_id=ctx.tenant_id,
            status=401 if error else 200,
            scripts=passkey,
            title="Two-step verification",
            need=need,
            codes=has_totp and need != "passkey",
            add_passkey=self._link("/.menshen/passkeys", rd),
            passkey=passkey,
            csrf_passkey=self._csrf.token(session.id, "passkey") if passkey else "",
            csrf=self._csrf.token(session.id, "mfa"),
            rd=rd,
            sig=self._signer.sign(rd),
            error=error,
            reason=reason,
        )

    def mfa_submit(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._mfa(Context(head, ctx.tenant_id), body))

    async def _mfa(self, ctx: Context, body: bytes) -> Respond:
        step = self._checked_form(ctx, body, "mfa")
        if isinstance(step, Respond):
            return step
        session, rd, form = step.session, step.rd, step.form
        identity = self._identities(ctx.tenant_id)
        code = form.get("code", "").strip()[:64]
        method = "totp" if code.isdigit() else "recovery_code"
        check = identity.verify_totp if method == "totp" else identity.verify_recovery_code
        ok = await asyncio.to_thread(check, session.user_id, code, ctx.head.client_ip)
        if not ok:
            self._audit.record(ctx, Kind.MFA_FAILURE, Outcome.FAILURE, session, method)
            return await self._mfa_form(ctx, session, rd, error=GENERIC_MFA_ERROR)
        return await self._elevate(ctx, session, method, rd)

    async def elevate(self, ctx: Context, session: SessionRecord, method: str, rd: str) -> Respond:
        """A second factor passed: a new, MFA-level session, and a redirect to ``rd``."""
        return await self._elevate(ctx, session, method, rd)

    def second_factor_session(
        self, ctx: Context, values: dict[str, str]
    ) -> tuple[SessionRecord, str] | Respond:
        """The signed-in (perhaps password-only) session and the checked return path."""
        return self._second_factor_session(ctx, values)

    async def _elevate(self, ctx: Context, session: SessionRecord, method: str, rd: str) -> Respond:
        # The same login, raised to a second factor: a provider login behind it moves along.
        created = await self._sessions.create(
            ctx.tenant_id,
            session.user_id,
            user_agent_family=session.user_agent_family,
            ip=ctx.head.client_ip,
            auth_level="mfa",
            mfa_method=method,
            mfa_at=self._clock.now(),
            replaces=session.id,
            same_login=True,
        )
        self._audit.record(ctx, Kind.MFA_SUCCESS, Outcome.SUCCESS, created.record, method)
        return redirect(rd, set_cookies=(self._session_cookie(ctx.head, created.token),))

    # -- /.menshen/mfa/enrol ------------------------------------------------------------
    def enrol_page(self, ctx: Context) -> Verdict:
        found = self._second_factor_session(ctx, dict(parse_qsl(ctx.head.query)))
        if isinstance(found, Respond):
            return found
        session, rd = found
        return Handle(lambda head, body: self._enrol_form(ctx, session, rd))

    async def _enrol_form(
        self, ctx: Context, session: SessionRecord, rd: str, error: str | None = None
    ) -> Respond:
        identity = self._identities(ctx.tenant_id)
        if await asyncio.to_thread(identity.has_totp, session.user_id):
            return redirect(self._link("/.menshen/mfa", rd))
        enrolment = await asyncio.to_thread(
            identity.begin_totp_enrolment, session.user_id, self._issuer_name(ctx.tenant_id)
        )
        return self._pages.render(
            "enrol.html",
            tenant_id=ctx.tenant_id,
            status=401 if error else 200,
            title="Set up two-step verification",
            csrf=self._csrf.token(session.id, "enrol"),
            rd=rd,
            sig=self._signer.sign(rd),
            error=error,
            secret=enrolment.secret,
            uri=enrolment.uri,
            qr_svg=enrolment.qr_svg,
        )

    def enrol_submit(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._enrol(Context(head, ctx.tenant_id), body))

    async def _enrol(self, ctx: Context, body: bytes) -> Respond:
        step = self._checked_form(ctx, body, "enrol")
        if isinstance(step, Respond):
            return step
        session, rd, form = step.session, step.rd, step.form
        identity = self._identities(ctx.tenant_id)
        try:
            codes = await asyncio.to_thread(
                identity.confirm_totp_enrolment, session.user_id, form.get("code", "").strip()
            )
        except (AuthenticationFailed, InvalidInput):
            self._audit.record(
                ctx, Kind.MFA_FAILURE, Outcome.FAILURE, session, "enrolment code wrong"
            )
            return await self._enrol_form(ctx, session, rd, error=GENERIC_MFA_ERROR)
        elevated = await self._elevate(ctx, session, "totp", rd)
        cookies = tuple(value for key, value in elevated.headers if key == "set-cookie")
        return self._pages.render(
            "recovery.html",
            tenant_id=ctx.tenant_id,
            title="Recovery codes",
            codes=codes,
            rd=rd,
            set_cookies=cookies,
        )

    # -- shared pieces ------------------------------------------------------------------
    def _second_factor_session(
        self, ctx: Context, values: dict[str, str]
    ) -> tuple[SessionRecord, str] | Respond:
        """The signed-in (perhaps password-only) session and the checked return path."""
        rd = self.return_target(ctx.head, values.get("rd"), values.get("sig"))
        if rd is None:
            return self._bad_link(ctx, f"rd={values.get('rd')!r}")
        session, _ = self._find_session(ctx.head, ctx.tenant_id)
        if session is None:
            return redirect(self._link("/.menshen/login", rd))
        return session, rd

    def _checked_form(self, ctx: Context, body: bytes, purpose: str) -> _Step | Respond:
        """A posted second-factor form: well-formed, same origin, CSRF token bound to session."""
        form = self._form(body, ctx.head)
        if form is None:
            return self._refused(ctx, f"malformed {purpose} form")
        found = self._second_factor_session(ctx, form)
        if isinstance(found, Respond):
            return found
        session, rd = found
        if not self._origin_ok(ctx.head) or not self._csrf.check(
            session.id, purpose, form.get("csrf")
        ):
            return self._refused(ctx, f"{purpose} form without a valid CSRF token or cross-origin")
        return _Step(session, rd, form)

    def _session_cookie(self, head: RequestHead, token: str) -> str:
        return set_cookie(cookie_name(head.scheme), token, secure=self._secure(head), max_age=None)

    def _form(self, body: bytes, head: RequestHead) -> dict[str, str] | None:
        try:
            return parse_form(body, head.header("content-type"))
        except InvalidInput:
            return None

    def _origin_ok(self, head: RequestHead) -> bool:
        return same_origin(
            head.header("origin"), scheme=head.scheme, host=head.host, port=head.port
        )

    def _refused(self, ctx: Context, detail: str) -> Respond:
        self._audit.attack(ctx, "forged or malformed form", detail)
        return self._pages.message(
            tenant_id=ctx.tenant_id,
            status=403,
            heading="Form expired",
            message="This form expired or did not come from this site. Go back and try again.",
        )
