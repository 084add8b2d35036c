"""Machine-client credentials: how they look, how they are made and how they are stored.

Two kinds (RFC 6749 §2.3.1 client passwords; API keys as Cloudflare service tokens and
Okta API tokens use them):

* an OAuth2 **client secret** ``mcs_<43 url-safe chars>`` (256 random bits), sent with the
  client's name as ``client_id`` to the token endpoint;
* an **API key** ``mk_<key id>_<secret>``: the key id (12 lower-case hex digits) is public
  and finds the stored row in one dictionary lookup; the secret is 256 random bits.

Only a keyed hash is stored: HMAC-SHA256 (RFC 2104) under a key derived from the master key,
over the tenant, the credential kind and id, and the secret. Secrets are high-entropy, so a
slow password hash (Argon2id) buys nothing against guessing — 2^256 candidates — and would
cost tens of milliseconds on every API call; the key means a stolen database alone cannot
even test a guess, and binding tenant and id means a hash copied to another row or tenant
never matches. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from menshen.errors import ConfigError

__all__ = [
    "API_KEY_PREFIX",
    "SECRET_PREFIX",
    "ApiKey",
    "SecretHasher",
    "new_api_key",
    "new_client_secret",
    "parse_api_key",
    "well_formed_secret",
]

SECRET_PREFIX = "mcs_"  # noqa: S105 (a format prefix, not a password)
API_KEY_PREFIX = "mk_"
_KEY_ID = re.compile(r"[0-9a-f]{12}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
MAX_PRESENTED = 256  # anything longer is not a credential of ours

TokenSource = Callable[[int], str]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A presented API key split into its public id and its secret."""

    key_id: str
    secret: str

    def __str__(self) -> str:
        return f"{API_KEY_PREFIX}{self.key_id}_{self.secret}"


def new_client_secret(token: TokenSource = secrets.token_urlsafe) -> str:
    """A fresh client secret (shown once)."""
    return SECRET_PREFIX + token(32)


def new_api_key(
    token: TokenSource = secrets.token_urlsafe,
    key_id: Callable[[int], str] = secrets.token_hex,
) -> ApiKey:
    """A fresh API key (shown once)."""
    return ApiKey(key_id(6), token(32))


def parse_api_key(presented: str) -> ApiKey | None:
    """The key id and secret of ``mk_<id>_<secret>``, or None if it is not shaped so."""
    if len(presented) > MAX_PRESENTED or not presented.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, secret = presented[len(API_KEY_PREFIX) :].partition("_")
    if not sep or _KEY_ID.fullmatch(key_id) is None or _SECRET.fullmatch(secret) is None:
        return None
    return ApiKey(key_id, secret)


def well_formed_secret(presented: str) -> bool:
    """Whether ``presented`` has the shape of a client secret (cheap pre-check)."""
    body = presented[len(SECRET_PREFIX) :]
    return presented.startswith(SECRET_PREFIX) and _SECRET.fullmatch(body) is not None


class SecretHasher:
    """HMAC-SHA256 of credentials under one server key (see the module docstring)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ConfigError("the client-secret key must be at least 32 bytes")
        self._key = key

    def digest(self, tenant_id: str, kind: str, credential_id: str, secret: str) -> str:
        message = f"menshen/client-credential/v1\x00{tenant_id}\x00{kind}\x00{credential_id}"
        mac = hmac.new(self._key, message.encode(), hashlib.sha256)
        mac.update(b"\x00" + secret.encode())
        return mac.hexdigest()

    def matches(
        self, stored: str, tenant_id: str, kind: str, credential_id: str, secret: str
    ) -> bool:
        """Constant-time comparison of ``secret`` with a stored digest."""
        candidate = self.digest(tenant_id, kind, credential_id, secret)
        return hmac.compare_digest(candidate.encode(), stored.encode())
