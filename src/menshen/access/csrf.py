"""Cross-site request forgery defence for the gateway's own forms.

Before sign-in there is no session, so login CSRF is stopped with a double-submit token
bound by HMAC to a random pre-session cookie (OWASP CSRF Prevention Cheat Sheet,
"Signed Double-Submit Cookie"). After sign-in, tokens are bound to the session id.
Both are also checked against ``Origin`` when the browser sends it.
"""

from __future__ import annotations

import hashlib
import hmac

PRE_SESSION_COOKIE = "menshen_csrf"
HTTPS_PRE_SESSION_COOKIE = "__Host-menshen_csrf"


def pre_session_cookie_name(scheme: str) -> str:
    return HTTPS_PRE_SESSION_COOKIE if scheme == "https" else PRE_SESSION_COOKIE


class CsrfTokens:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def token(self, binding: str, purpose: str) -> str:
        message = f"{purpose}\x00{binding}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def check(self, binding: str | None, purpose: str, presented: str | None) -> bool:
        if not binding or not presented:
            return False
        return hmac.compare_digest(self.token(binding, purpose), presented)


def same_origin(origin: str | None, *, scheme: str, host: str, port: int) -> bool:
    """True when there is no Origin header (old browsers) or it names this exact origin."""
    if origin is None:
        return True
    default = 443 if scheme == "https" else 80
    expected = f"{scheme}://{host}" if port == default else f"{scheme}://{host}:{port}"
    return origin == expected
