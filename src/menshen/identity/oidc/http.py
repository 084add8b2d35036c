"""The production back channel to OpenID providers: a synchronous httpx client.

OpenID Connect Core 1.0 §3.1.3 (token endpoint over TLS) and Discovery 1.0 §4. Every request
has bounded connect/read timeouts, redirects are not followed, and bodies are capped, so a
slow or hostile provider cannot hold a worker thread or memory (fail closed).
"""

from __future__ import annotations

import httpx

from menshen.identity.oidc.model import FederationFailed, HttpRequest, HttpResponse

__all__ = ["HttpxFetcher"]

MAX_BODY_BYTES = 1024 * 1024


class HttpxFetcher:
    """``HttpFetcher`` over one shared ``httpx.Client`` (thread-safe; call via to_thread)."""

    def __init__(
        self, *, timeout_seconds: float = 5.0, max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_seconds), follow_redirects=False)
        self._max = max_body_bytes

    def send(self, request: HttpRequest) -> HttpResponse:
        """One request; transport errors and oversized bodies are ``FederationFailed``."""
        try:
            with self._client.stream(
                request.method,
                request.url,
                headers={"accept": "application/json", **request.headers},
                data=None if request.form is None else dict(request.form),
            ) as answer:
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body.extend(chunk)
                    if len(body) > self._max:
                        raise FederationFailed("transport: response body too large")
                return HttpResponse(answer.status_code, bytes(body))
        except httpx.HTTPError as exc:
            raise FederationFailed(f"transport: {type(exc).__name__}", transient=True) from None

    def close(self) -> None:
        self._client.close()
