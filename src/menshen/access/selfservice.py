"""What the self-service pages share: who may use them, their forms, and re-authentication.

The pages (``/.menshen/passkeys``, ``/.menshen/authenticators``) need a session that finished
signing in; one still owing its second factor is sent to finish it, and a missing one to
sign in, each with a signed return path. Their forms are same-origin and carry a CSRF token
bound to the session (OWASP CSRF Prevention Cheat Sheet).

Re-authentication before a sensitive change (NIST SP 800-63B §6.1.2.1: prove possession of
an authenticator before binding or removing one; OWASP Authentication Cheat Sheet, "require
re-authentication for sensitive features"): the last verification is the session's
``mfa_at`` — every passkey, TOTP or recovery-code check, and a passwordless sign-in, opens
a new session stamped with it. Older than five minutes, the user goes through
``/.menshen/mfa`` once more (their passkey or a code) and comes back to the page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens, same_origin
from menshen.access.forms import parse_form
from menshen.access.pages import Pages, redirect
from menshen.access.returnto import ReturnSigner
from menshen.access.signin import SessionFinder
from menshen.errors import InvalidInput
from menshen.gateway.contract import Respond
from menshen.identity.passkeys import recently_verified
from menshen.store.records import SessionRecord

__all__ = [
    "SelfService",
    "last_verified",
    "reauth_link",
    "recently_reauthenticated",
    "signed_link",
]

FORM_EXPIRED = "This form expired or did not come from this site. Go back and try again."


def last_verified(session: SessionRecord) -> datetime | None:
    """When the session last verified a factor (None for a password-only session)."""
    return session.mfa_at if session.auth_level == "mfa" else None


def recently_reauthenticated(session: SessionRecord, now: datetime) -> bool:
    """Whether the session's last verification is recent enough for a sensitive change."""
    return recently_verified(last_verified(session), now)


def signed_link(signer: ReturnSigner, page: str, back: str, need: str | None = None) -> str:
    """``page`` with a signed return path ``back`` (and what the page should ask for)."""
    link = f"{page}?rd={quote(back, safe='')}&sig={signer.sign(back)}"
    return link if need is None else f"{link}&need={need}"


def reauth_link(signer: ReturnSigner, back: str) -> str:
    """The verification page, asking to confirm, returning to ``back`` afterwards."""
    return signed_link(signer, "/.menshen/mfa", back, "reauth")


class SelfService:
    """Session and form checks of the signed-in user's own pages."""

    def __init__(
        self,
        *,
        find_session: SessionFinder,
        signed_in: Callable[[str, SessionRecord], bool],
        pages: Pages,
        signer: ReturnSigner,
        csrf: CsrfTokens,
        audit: PageAudit,
    ) -> None:
        self._find_session = find_session
        self._signed_in = signed_in
        self._pages = pages
        self.signer = signer
        self.csrf = csrf
        self._audit = audit

    def session(self, ctx: Context) -> SessionRecord | Respond:
        """A session that finished signing in; else the way to sign in or to finish it."""
        session, _ = self._find_session(ctx.head, ctx.tenant_id)
        here = ctx.head.target
        if session is None:
            return redirect(signed_link(self.signer, "/.menshen/login", here))
        if not self._signed_in(ctx.tenant_id, session):
            return redirect(signed_link(self.signer, "/.menshen/mfa", here))
        return session

    def form(
        self, ctx: Context, body: bytes, purpose: str, page: str
    ) -> tuple[SessionRecord, dict[str, str]] | Respond:
        """A posted form of ``page``: signed in, well-formed, same origin, CSRF token bound to
        the session for ``purpose``."""
        head = ctx.head
        session, _ = self._find_session(head, ctx.tenant_id)
        if session is None or not self._signed_in(ctx.tenant_id, session):
            return redirect(signed_link(self.signer, "/.menshen/login", page))
        try:
            form: dict[str, str] | None = parse_form(body, head.header("content-type"))
        except InvalidInput:
            form = None
        if (
            form is None
            or not same_origin(
                head.header("origin"), scheme=head.scheme, host=head.host, port=head.port
            )
            or not self.csrf.check(session.id, purpose, form.get("csrf"))
        ):
            self._audit.attack(ctx, "forged or malformed form", f"{purpose} form")
            return self._pages.message(
                tenant_id=ctx.tenant_id,
                status=403,
                heading="Form expired",
                message=FORM_EXPIRED,
                link=page,
            )
        return session, form
