"""Dispatch of the gateway's own paths (``/.menshen/…`` and the JWKS) on every host."""

from __future__ import annotations

from collections.abc import Callable

from menshen.access.account import Account
from menshen.access.audit import Context
from menshen.access.pages import problem_json
from menshen.access.passkey_pages import PasskeyPages
from menshen.access.signin import SignIn
from menshen.access.sso import SingleSignOn
from menshen.gateway.contract import RequestHead, Verdict

Route = Callable[[Context], Verdict]


class OwnEndpoints:
    def __init__(
        self,
        *,
        tenant_for_host: Callable[[str], str | None],
        signin: SignIn,
        account: Account,
        passkeys: PasskeyPages | None = None,
        sso: SingleSignOn | None = None,
    ) -> None:
        self._tenant_for_host = tenant_for_host
        self._routes: dict[tuple[str, str], Route] = {
            ("GET", "/.menshen/login"): signin.login_page,
            ("POST", "/.menshen/login"): signin.login_submit,
            ("GET", "/.menshen/mfa"): signin.mfa_page,
            ("POST", "/.menshen/mfa"): signin.mfa_submit,
            ("GET", "/.menshen/mfa/enrol"): signin.enrol_page,
            ("POST", "/.menshen/mfa/enrol"): signin.enrol_submit,
            ("GET", "/.menshen/"): account.home,
            ("GET", "/.menshen"): account.home,
            ("GET", "/.menshen/devices"): account.home,
            ("GET", "/.menshen/logout"): account.logout_page,
            ("POST", "/.menshen/logout"): account.logout_submit,
            ("POST", "/.menshen/sessions/revoke"): account.revoke_submit,
            ("GET", "/.well-known/menshen/jwks.json"): account.jwks,
        }
        if passkeys is not None:
            self._routes.update(
                {
                    ("GET", "/.menshen/static/passkey.js"): passkeys.script,
                    ("GET", "/.menshen/passkeys"): passkeys.manage_page,
                    ("POST", "/.menshen/passkey/auth/options"): passkeys.auth_options,
                    ("POST", "/.menshen/passkey/auth/verify"): passkeys.auth_verify,
                    ("POST", "/.menshen/passkey/register/options"): passkeys.register_options,
                    ("POST", "/.menshen/passkey/register/verify"): passkeys.register_verify,
                }
            )

        if sso is not None:
            self._routes.update(
                {
                    ("GET", "/.menshen/oidc/start"): sso.start,
                    ("GET", "/.menshen/oidc/callback"): sso.callback,
                }
            )

    def __call__(self, head: RequestHead) -> Verdict:
        tenant_id = self._tenant_for_host(head.host)
        if tenant_id is None:
            return problem_json(404, "Not Found", "No application is served here.")
        method = "GET" if head.method == "HEAD" else head.method
        route = self._routes.get((method, head.path))
        if route is None:
            if any(path == head.path for _, path in self._routes):
                return problem_json(
                    405, "Method Not Allowed", f"{head.method} is not allowed here."
                )
            return problem_json(404, "Not Found", "No such page.")
        return route(Context(head, tenant_id))
