"""The token endpoint for machine clients: RFC 6749 §4.4 client credentials grant.

``POST /.menshen/oauth/token`` with ``grant_type=client_credentials`` (form-encoded, §4.4.2)
and an optional ``scope``. The client authenticates with ``client_secret_basic`` (HTTP
Basic, the id and secret form-url-encoded first, §2.3.1) or ``client_secret_post`` (both
in the body) — never both (§2.3). The answer (§5.1) is a short-lived ES256 access token
(``menshen.access.client_tokens``), ``token_type: Bearer``, ``expires_in`` and ``scope``,
with ``Cache-Control: no-store``.

Errors follow §5.2: ``invalid_request`` (400), ``invalid_client`` (401 with
``WWW-Authenticate: Basic``), ``unsupported_grant_type``, ``invalid_scope`` (400). A
failed authentication says nothing about why; the audit log (``login.failure`` with the
client as actor) has the precise reason. Failures are counted per source address with the
sign-in throttle (NIST SP 800-63B §5.2.2): a locked source is answered 429 without its
secret being checked. There is deliberately no per-client lock: secrets carry 256 random
bits, so guessing one is hopeless, and a lock would let anyone who knows a partner's
client id shut the partner out. Plain HTTP is refused (§2.3.1 requires TLS), except from
a loopback peer for a gateway tried out locally.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from menshen.access.audit import Context
from menshen.access.client_tokens import AccessTokens
from menshen.assertions.keyring import Keyring
from menshen.clock import Clock
from menshen.errors import ConfigError, InvalidInput
from menshen.events.model import AuditEvent, Kind, Outcome
from menshen.gateway.contract import Handle, Headers, Respond, Verdict
from menshen.identity.clients.model import Refused, check_scopes
from menshen.identity.clients.service import MachineClientService
from menshen.identity.lockout import Lockout

__all__ = ["TOKEN_PATH", "TokenEndpoint"]

TOKEN_PATH = "/.menshen/oauth/token"  # noqa: S105 (a path)
MAX_BODY = 4096
GRANT = "client_credentials"
_JSON_HEADERS = (
    ("content-type", "application/json"),
    ("cache-control", "no-store"),
    ("pragma", "no-cache"),
)

Publish = Callable[[AuditEvent], None]


class _Failure(Exception):
    def __init__(self, error: str, description: str, status: int = 400, retry: int = 0) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status
        self.retry = retry


class TokenEndpoint:
    def __init__(
        self,
        *,
        clients: Callable[[str], MachineClientService],
        lockout: Callable[[str], Lockout],
        keyring: Callable[[str], Keyring | None],
        tokens: AccessTokens,
        publish: Publish,
        clock: Clock,
    ) -> None:
        self._clients = clients
        self._lockout = lockout
        self._keyring = keyring
        self._tokens = tokens
        self._publish = publish
        self._clock = clock

    def token(self, ctx: Context) -> Verdict:
        return Handle(
            lambda head, body: self._token(Context(head, ctx.tenant_id), body),
            max_body_bytes=MAX_BODY,
        )

    async def _token(self, ctx: Context, body: bytes) -> Respond:
        try:
            return await self._issue(ctx, body)
        except _Failure as failure:
            return _error(failure)

    async def _issue(self, ctx: Context, body: bytes) -> Respond:
        head = ctx.head
        if head.scheme != "https" and not _loopback(head.peer_ip):
            raise _Failure("invalid_request", "Use HTTPS.")
        params = _form(head.header("content-type"), body)
        grant = params.get("grant_type")
        if not grant:
            raise _Failure("invalid_request", "grant_type is required.")
        client_id, secret = _client_authentication(head.header("authorization"), params)
        if grant != GRANT:
            raise _Failure("unsupported_grant_type", "Only client_credentials is supported.")
        now = self._clock.now()
        lockout = self._lockout(ctx.tenant_id)
        until = await asyncio.to_thread(lockout.source_locked_until, head.client_ip, now)
        if until is not None:
            self._audit(ctx, Outcome.FAILURE, None, "source throttled", now)
            retry = max(1, int((until - now).total_seconds()))
            raise _Failure("invalid_client", "Too many failed attempts.", 429, retry)
        service = self._clients(ctx.tenant_id)
        result = await asyncio.to_thread(service.authenticate_secret, client_id, secret)
        if isinstance(result, Refused):
            await asyncio.to_thread(lockout.fail, None, head.client_ip, now)
            self._audit(ctx, Outcome.FAILURE, result.client_name, result.reason, now)
            raise _Failure("invalid_client", "Client authentication failed.", status=401)
        client = result.client
        scopes = _requested(params.get("scope"), client.scopes)
        keyring = self._keyring(ctx.tenant_id)
        try:
            if keyring is None:
                raise ConfigError("no keyring")
            key = keyring.active_signing_key()
        except ConfigError:
            raise _Failure("temporarily_unavailable", "No signing key.", status=503) from None
        lifetime = min(self._tokens.lifetime, keyring.token_lifetime)
        token, expires_in = self._tokens.mint(
            key, ctx.tenant_id, client.name, result.credential_id, scopes, lifetime
        )
        self._audit(ctx, Outcome.SUCCESS, client.name, "client_credentials", now)
        answer = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": " ".join(sorted(scopes)),
        }
        return Respond(200, _JSON_HEADERS, json.dumps(answer, separators=(",", ":")).encode())

    def _audit(
        self, ctx: Context, outcome: str, client: str | None, reason: str, now: datetime
    ) -> None:
        self._publish(
            AuditEvent(
                tenant_id=ctx.tenant_id,
                kind=Kind.LOGIN_SUCCESS if outcome == Outcome.SUCCESS else Kind.LOGIN_FAILURE,
                outcome=outcome,
                at=now,
                actor=None if client is None else f"client:{client}",
                ip=ctx.head.client_ip,
                reason=reason,
                details={"path": ctx.head.path, "method": "client_credentials"},
            )
        )


def _form(content_type: str | None, body: bytes) -> dict[str, str]:
    """The form parameters; each at most once (RFC 6749 §3.2)."""
    if (content_type or "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise _Failure("invalid_request", "Send application/x-www-form-urlencoded.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise _Failure("invalid_request", "The body is not a valid form.") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise _Failure("invalid_request", f"{name[:32]} is given more than once.")
        params[name] = value
    return params


def _client_authentication(authorization: str | None, params: dict[str, Any]) -> tuple[str, str]:
    """(client_id, client_secret) from exactly one of Basic or the body (RFC 6749 §2.3)."""
    in_body = "client_secret" in params
    if authorization is not None:
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise _Failure("invalid_client", "Use HTTP Basic or client_secret_post.", 401)
        if in_body:
            raise _Failure("invalid_request", "Use one client authentication method.")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise _Failure("invalid_client", "Client authentication failed.", 401) from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise _Failure("invalid_client", "Client authentication failed.", 401)
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if params.get("client_id") not in (None, client_id):
            raise _Failure("invalid_request", "client_id differs from the authenticated one.")
        return client_id, secret
    if not in_body or not params.get("client_id"):
        raise _Failure("invalid_client", "Client authentication is required.", 401)
    return str(params["client_id"]), str(params["client_secret"])


def _requested(scope: str | None, allowed: frozenset[str]) -> frozenset[str]:
    """The scopes granted: those asked for, all of which the client must hold (§3.3);
    without ``scope``, every scope the client holds."""
    if scope is None:
        return allowed
    try:
        asked = frozenset(check_scopes(scope.split(" ")))
    except InvalidInput:
        raise _Failure("invalid_scope", "The scope is malformed.") from None
    if not asked <= allowed:
        raise _Failure("invalid_scope", "The scope exceeds what this client may ask for.")
    return asked


def _error(failure: _Failure) -> Respond:
    body = json.dumps(
        {"error": failure.error, "error_description": failure.description},
        separators=(",", ":"),
    ).encode()
    headers: Headers = _JSON_HEADERS
    if failure.status == 401:
        headers = (*headers, ("www-authenticate", 'Basic realm="menshen"'))
    if failure.retry:
        headers = (*headers, ("retry-after", str(failure.retry)))
    return Respond(failure.status, headers, body)


def _loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False
