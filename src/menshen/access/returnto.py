"""The return URL after sign-in: only a path on the host the user is already on.

Open redirects through the return parameter bit nearly every identity-aware proxy
(../shared/reference/iap.md, "Where they were bitten" §1). Rather than parse URLs the way
one browser might, accept only a plain absolute path on the current origin and refuse
everything a browser could read as another origin: ``//x``, ``/\\x``, tabs and other
control characters (browsers strip them), encoded variants of those, schemes, userinfo.
An absolute URL is accepted only when scheme, host and port are exactly the current ones.

The parameter is also signed (HMAC-SHA256), so a link the gateway did not make is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import unquote, urlsplit

MAX_RETURN_LENGTH = 2048


def _plain_local_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return False
    return not any(ch == "\\" or ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value)


def safe_return_path(value: str | None, *, scheme: str, host: str, port: int) -> str | None:
    """``value`` as a local path (with query) when it is safe to redirect to, else None."""
    if not value or len(value) > MAX_RETURN_LENGTH:
        return None
    candidate = value
    if not candidate.startswith("/"):
        try:
            parts = urlsplit(candidate)
            parsed_port = parts.port
        except ValueError:
            return None
        default = 443 if parts.scheme == "https" else 80
        if (
            parts.scheme != scheme
            or parts.username is not None
            or parts.password is not None
            or (parts.hostname or "") != host
            or (parsed_port or default) != port
            or "@" in parts.netloc
        ):
            return None
        candidate = parts.path or "/"
        if parts.query:
            candidate += "?" + parts.query
    # The raw value, and the value decoded once and twice, must all be plain paths.
    decoded_once = unquote(candidate)
    decoded_twice = unquote(decoded_once)
    if not all(_plain_local_path(v) for v in (candidate, decoded_once, decoded_twice)):
        return None
    if "#" in candidate:
        candidate = candidate.split("#", 1)[0]
    return candidate


class ReturnSigner:
    """Signs and checks the ``rd`` parameter of the gateway's own links."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, value: str) -> str:
        return hmac.new(self._key, b"rd\x00" + value.encode(), hashlib.sha256).hexdigest()[:32]

    def check(self, value: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(value), signature)
