"""Dispatch of the gateway's own paths (``/.menshen/…`` and the JWKS) on every host."""

from __future__ import annotations

from collections.abc import Callable

from menshen.access.account import Account
from menshen.access.audit import Context
from menshen.access.authenticators import Authenticators
from menshen.access.device_api import DeviceApi
from menshen.access.device_pages import DevicePages
from menshen.access.oauth_token import TOKEN_PATH, TokenEndpoint
from menshen.access.pages import problem_json
from menshen.access.passkey_login import PasskeyLoginPages
from menshen.access.passkey_manage import PasskeyManage
from menshen.access.passkey_pages import PasskeyPages
from menshen.access.signin import SignIn
from menshen.access.sso import SingleSignOn
from menshen.gateway.contract import RequestHead, Verdict
from menshen.monitor.ingest.http_endpoint import INGEST_PATH

Route = Callable[[Context], Verdict]


class OwnEndpoints:
    def __init__(
        self,
        *,
        tenant_for_host: Callable[[str], str | None],
        signin: SignIn,
        account: Account,
        passkeys: PasskeyPages | None = None,
        passkey_login: PasskeyLoginPages | None = None,
        passkey_manage: PasskeyManage | None = None,
        authenticators: Authenticators | None = None,
        sso: SingleSignOn | None = None,
        devices: DevicePages | None = None,
        device_api: DeviceApi | None = None,
        ingest: Callable[[RequestHead, str], Verdict] | None = None,
        oauth: TokenEndpoint | None = None,
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
            ("GET", "/.menshen/sessions"): account.sessions_page,
            ("GET", "/.menshen/logout"): account.logout_page,
            ("POST", "/.menshen/logout"): account.logout_submit,
            ("POST", "/.menshen/sessions/revoke"): account.revoke_submit,
            ("GET", "/.well-known/menshen/jwks.json"): account.jwks,
        }
        if passkeys is not None:
            self._routes.update(
                {
                    ("GET", "/.menshen/static/passkey.js"): passkeys.script,
                    ("POST", "/.menshen/passkey/auth/options"): passkeys.auth_options,
                    ("POST", "/.menshen/passkey/auth/verify"): passkeys.auth_verify,
                    ("POST", "/.menshen/passkey/register/options"): passkeys.register_options,
                    ("POST", "/.menshen/passkey/register/verify"): passkeys.register_verify,
                }
            )

        if passkey_login is not None:
            self._routes[("POST", "/.menshen/passkey/login/options")] = passkey_login.options
            self._routes[("POST", "/.menshen/passkey/login/verify")] = passkey_login.verify
        if passkey_manage is not None:
            self._routes[("GET", "/.menshen/passkeys")] = passkey_manage.page
            self._routes[("POST", "/.menshen/passkeys/rename")] = passkey_manage.rename
            self._routes[("POST", "/.menshen/passkeys/remove")] = passkey_manage.remove
        if authenticators is not None:
            self._routes[("GET", "/.menshen/authenticators")] = authenticators.page
            self._routes[("POST", "/.menshen/recovery-codes")] = authenticators.regenerate

        if sso is not None:
            self._routes.update(
                {
                    ("GET", "/.menshen/oidc/start"): sso.start,
                    ("GET", "/.menshen/oidc/callback"): sso.callback,
                    ("POST", "/.menshen/oidc/discover"): sso.discover,
                    ("GET", "/.menshen/logged-out"): sso.logged_out,
                }
            )

        if devices is not None:
            self._routes.update(
                {
                    ("GET", "/.menshen/devices"): devices.list_page,
                    ("POST", "/.menshen/devices/code"): devices.code_submit,
                    ("POST", "/.menshen/devices/rename"): devices.rename_submit,
                    ("POST", "/.menshen/devices/remove"): devices.remove_submit,
                }
            )
        if device_api is not None:
            self._routes.update(
                {
                    ("POST", "/.menshen/devices/enrol"): device_api.enrol,
                    ("POST", "/.menshen/devices/posture"): device_api.posture,
                }
            )

        if oauth is not None:  # machine clients: RFC 6749 §4.4 client credentials grant
            self._routes[("POST", TOKEN_PATH)] = oauth.token

        if ingest is not None:  # monitoring: JSON lines from external sources
            self._routes[("POST", INGEST_PATH)] = lambda ctx: ingest(ctx.head, ctx.tenant_id)

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
