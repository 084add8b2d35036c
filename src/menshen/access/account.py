"""The signed-in user's own pages: who am I (``/.menshen/``), my sessions
(``/.menshen/sessions``), sign out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens, same_origin
from menshen.access.forms import parse_form
from menshen.access.guard import Denial
from menshen.access.pages import Pages, redirect
from menshen.access.signin import SessionFinder
from menshen.errors import InvalidInput
from menshen.events.model import Kind, Outcome
from menshen.gateway.contract import Handle, RequestHead, Respond, Verdict
from menshen.policy.model import Subject
from menshen.sessions.cookies import clear_cookie, cookie_name
from menshen.sessions.service import SessionService
from menshen.store.records import SessionRecord

PrincipalOf = Callable[[str, str], Subject | None]
# Signing out a single sign-on session: the provider's end-session URL, or None.
ProviderLogout = Callable[[Context, SessionRecord], Awaitable[str | None]]


class Account:
    def __init__(
        self,
        *,
        sessions: SessionService,
        find_session: SessionFinder,
        subject_of: PrincipalOf,
        recent_denials: Callable[[str], list[Denial]],
        signed_in: Callable[[str, SessionRecord], bool],
        pages: Pages,
        csrf: CsrfTokens,
        audit: PageAudit,
        jwks: Callable[[str], bytes],
        secure_cookies: Callable[[RequestHead], bool],
        provider_logout: ProviderLogout | None = None,
    ) -> None:
        self._sessions = sessions
        self._find_session = find_session
        self._subject_of = subject_of
        self._recent_denials = recent_denials
        self._signed_in = signed_in
        self._pages = pages
        self._csrf = csrf
        self._audit = audit
        self._jwks = jwks
        self._secure = secure_cookies
        self._provider_logout = provider_logout

    def jwks(self, ctx: Context) -> Respond:
        body = self._jwks(ctx.tenant_id)
        return Respond(
            200,
            (("content-type", "application/json"), ("cache-control", "public, max-age=60")),
            body,
        )

    def home(self, ctx: Context) -> Verdict:
        session = self._full_session(ctx)
        if session is None:
            return redirect("/.menshen/login")
        subject = self._subject_of(ctx.tenant_id, session.user_id)
        if subject is None:
            return redirect("/.menshen/login")
        return self._pages.render(
            "home.html",
            tenant_id=ctx.tenant_id,
            title="Your account",
            username=subject.username,
            email=subject.email,
            groups=sorted(subject.groups),
            mfa=session.mfa_method,
            session_count=len(self._sessions.sessions_of(ctx.tenant_id, session.user_id)),
            recent_denials=self._recent_denials(session.id),
            csrf_logout=self._csrf.token(session.id, "logout"),
        )

    def sessions_page(self, ctx: Context) -> Verdict:
        session = self._full_session(ctx)
        if session is None:
            return redirect("/.menshen/login")
        rows = [
            {
                "id": s.id,
                "created": s.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                "last_seen": (self._sessions.last_seen(s.id) or s.last_seen_at).strftime(
                    "%Y-%m-%d %H:%M UTC"
                ),
                "browser": s.user_agent_family,
                "ip": s.ip,
                "device": s.device_id or "unknown",
                "current": s.id == session.id,
            }
            for s in self._sessions.sessions_of(ctx.tenant_id, session.user_id)
        ]
        return self._pages.render(
            "sessions.html",
            tenant_id=ctx.tenant_id,
            title="Your sessions",
            sessions=rows,
            csrf_revoke=self._csrf.token(session.id, "revoke"),
        )

    def logout_page(self, ctx: Context) -> Verdict:
        session, _ = self._find_session(ctx.head, ctx.tenant_id)
        if session is None:
            return redirect("/.menshen/login")
        return self._pages.render(
            "logout.html",
            tenant_id=ctx.tenant_id,
            title="Sign out",
            csrf=self._csrf.token(session.id, "logout"),
        )

    def logout_submit(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._logout(Context(head, ctx.tenant_id), body))

    async def _logout(self, ctx: Context, body: bytes) -> Respond:
        session, _ = self._find_session(ctx.head, ctx.tenant_id)
        if session is None:
            return redirect("/.menshen/login")
        if not self._form_ok(ctx, body, session, "logout"):
            return self._expired(ctx)
        # Single sign-on: learn where to end the provider login (RP-Initiated Logout 1.0); the
        # menshen session, and with it the provider login, is revoked first whatever it does.
        end_at_provider = None
        if self._provider_logout is not None:
            end_at_provider = await self._provider_logout(ctx, session)
        await self._sessions.revoke(ctx.tenant_id, session.id, by=session.user_id, reason="logout")
        self._audit.record(ctx, Kind.LOGOUT, Outcome.SUCCESS, session, "user signed out")
        cookie = clear_cookie(cookie_name(ctx.head.scheme), secure=self._secure(ctx.head))
        if end_at_provider is not None:
            return redirect(end_at_provider, set_cookies=(cookie,))
        return self._pages.render(
            "message.html",
            tenant_id=ctx.tenant_id,
            title="Signed out",
            heading="Signed out",
            message="You are signed out. Your session can no longer be used.",
            link="/.menshen/login",
            link_text="Sign in again",
            set_cookies=(cookie,),
        )

    def revoke_submit(self, ctx: Context) -> Verdict:
        return Handle(lambda head, body: self._revoke(Context(head, ctx.tenant_id), body))

    async def _revoke(self, ctx: Context, body: bytes) -> Respond:
        session = self._full_session(ctx)
        if session is None:
            return redirect("/.menshen/login")
        if not self._form_ok(ctx, body, session, "revoke"):
            return self._expired(ctx)
        target_id = parse_form(body, ctx.head.header("content-type")).get("session", "")
        target = self._sessions.get(target_id)
        # Only one's own sessions; another user's id is answered like an unknown one.
        if target is not None and target.user_id == session.user_id:
            await self._sessions.revoke(
                ctx.tenant_id, target.id, by=session.user_id, reason="revoked by its user"
            )
            self._audit.record(
                ctx,
                Kind.SESSION_REVOKED,
                Outcome.SUCCESS,
                session,
                "revoked by its user",
                target=target.id,
            )
        return redirect("/.menshen/sessions")

    # -- helpers ------------------------------------------------------------------------
    def _full_session(self, ctx: Context) -> SessionRecord | None:
        """A session that finished sign-in: one still owing its second factor cannot see or
        revoke the user's other sessions (a phished password alone must not)."""
        session, _ = self._find_session(ctx.head, ctx.tenant_id)
        if session is None or not self._signed_in(ctx.tenant_id, session):
            return None
        return session

    def _form_ok(self, ctx: Context, body: bytes, session: SessionRecord, purpose: str) -> bool:
        head = ctx.head
        if not same_origin(
            head.header("origin"), scheme=head.scheme, host=head.host, port=head.port
        ):
            return False
        try:
            form = parse_form(body, head.header("content-type"))
        except InvalidInput:
            return False
        return self._csrf.check(session.id, purpose, form.get("csrf"))

    def _expired(self, ctx: Context) -> Respond:
        self._audit.record(ctx, Kind.ATTACK_BLOCKED, Outcome.DENY, None, "forged or malformed form")
        return self._pages.message(
            tenant_id=ctx.tenant_id,
            status=403,
            heading="Form expired",
            message="This form expired or did not come from this site. Go back and try again.",
            link="/.menshen/",
        )
