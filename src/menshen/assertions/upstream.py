"""What an app behind the gateway runs: who is calling, from ``X-Menshen-Assertion`` alone.

The sample apps and the console share this. The gateway's public keys come from its JWKS
URL (``/.well-known/menshen/jwks.json``, RFC 7517 §5) and are fetched again when a token
names a key id the cache does not hold (a rotation since the last fetch, RFC 7515 §4.1.4),
at most once per ``min_refresh`` seconds so forged tokens cannot turn the app into a
request amplifier against the gateway. Verification itself is ``AssertionVerifier`` (RFC
7519 §7.2, RFC 8725 §3). Headers such as ``X-Menshen-User`` are convenience copies: a
header's presence proves nothing, only the signature does.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from menshen.assertions.verify import AssertionVerifier
from menshen.errors import AuthenticationFailed

Fetch = Callable[[str], dict[str, Any]]


def fetch_json(url: str) -> dict[str, Any]:
    """GET ``url`` and parse JSON (blocking; run it in a worker thread)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("JWKS URL must be http(s)")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - scheme checked
        data: dict[str, Any] = json.loads(response.read())
        return data


class JwksCache:
    """The gateway's public keys, fetched from its well-known URL (blocking fetch)."""

    def __init__(
        self,
        url: str,
        fetch: Fetch | None = None,
        *,
        min_refresh: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fetch = fetch or fetch_json
        self._jwks: dict[str, Any] = {"keys": []}
        self._min_refresh = min_refresh
        self._monotonic = monotonic
        self._last: float | None = None

    def current(self) -> dict[str, Any]:
        return self._jwks

    def knows(self, kid: object) -> bool:
        keys = self._jwks.get("keys")
        return isinstance(keys, list) and any(
            isinstance(key, dict) and key.get("kid") == kid for key in keys
        )

    async def refresh(self) -> bool:
        """Fetch the keys again unless that was done under ``min_refresh`` ago."""
        now = self._monotonic()
        if self._last is not None and now - self._last < self._min_refresh:
            return False
        self._last = now
        try:
            fetched = await asyncio.to_thread(self._fetch, self.url)
        except (OSError, ValueError):
            return False  # keep the keys we have; the token is refused (fail closed)
        if isinstance(fetched, dict):
            self._jwks = fetched
        return True


class UpstreamIdentity:
    """Verified claims of the caller, or None: one uninformative answer for every failure."""

    def __init__(self, verifier: AssertionVerifier, jwks: JwksCache) -> None:
        self._verifier = verifier
        self._jwks = jwks

    async def claims(self, headers: Mapping[str, str]) -> dict[str, Any] | None:
        token = headers.get("x-menshen-assertion")
        if not token:
            return None
        try:
            return self._verifier.verify(token)
        except AuthenticationFailed:
            if not self._unknown_kid(token) or not await self._jwks.refresh():
                return None
        try:
            return self._verifier.verify(token)
        except AuthenticationFailed:
            return None

    def _unknown_kid(self, token: str) -> bool:
        """Only a key id we do not hold is worth a fetch; a bad signature is not."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return False
        return isinstance(kid, str) and not self._jwks.knows(kid)
