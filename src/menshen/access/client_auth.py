"""Machine clients at the enforcement point (NIST SP 800-207 §3.1; RFC 6750 bearer tokens).

A request without the gateway's session cookie that carries ``Authorization: Bearer …``
or ``X-Api-Key: …`` is a machine client's: an access token from the token endpoint
(``menshen.access.client_tokens``) or an API key ``mk_<id>_<secret>``. Every request is
checked against the in-memory ``ClientRoster`` — client suspended, expired or deleted,
credential revoked or expired, token minted before a suspension — so a change reaches the
very next request once the snapshot is swapped in (at each state refresh, or at once in
the process that made it). The subject is ``kind="client"`` and the normal compiled
policy decides: only rules naming the client in ``clients:`` (or its scopes) allow it.

Failures answer one generic 401 with ``WWW-Authenticate: Bearer error="invalid_token"``
(RFC 6750 §3.1) and leave the precise reason in the audit log. The credential never goes
upstream: the ``Authorization`` and ``X-Api-Key`` fields are blanked on forwarding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from menshen.access.client_tokens import AccessTokens, TokenClaims
from menshen.access.directory import Route
from menshen.access.pages import problem_json
from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.events.model import AuditEvent, Kind, Outcome, SequentialEventIds
from menshen.gateway.contract import Forward, RequestHead, Respond, Verdict
from menshen.identity.clients.model import (
    EMPTY_ROSTER,
    Accepted,
    ClientRoster,
    Refused,
)
from menshen.identity.clients.secrets import API_KEY_PREFIX, SecretHasher
from menshen.policy.compile import CompiledPolicy
from menshen.policy.model import AccessRequest, Decision, Effect, Subject
from menshen.sessions.cookies import SESSION_COOKIES

__all__ = ["CLIENT_PREFIX", "ClientGate", "machine_credential", "tunnel_id"]

CLIENT_PREFIX = "client:"
MAX_USED = 100_000
_CHALLENGE = 'Bearer realm="menshen", error="invalid_token"'
_CREDENTIALS = frozenset({"authorization", "x-api-key"})

Publish = Callable[[AuditEvent], None]
Risk = Callable[[str, str], float]


def tunnel_id(tenant_id: str, name: str, credential_id: str) -> str:
    """What binds a client's WebSocket tunnels, so refusing the client closes them."""
    return f"{CLIENT_PREFIX}{tenant_id}:{name}:{credential_id}"


def machine_credential(head: RequestHead) -> str | None:
    """The machine credential a request carries, or None (a person's request, or none).

    A request with one of the gateway's session cookies is a person's, even if it carries
    an ``Authorization`` field of its own for the upstream app.
    """
    bearer: str | None = None
    api_key: str | None = None
    # Performance: people's requests rarely carry either field, so one cheap pass first.
    for key, value in head.headers:
        if key == "authorization" and bearer is None:
            scheme, _, credential = value.strip().partition(" ")
            if scheme.lower() == "bearer":
                bearer = credential.strip()
        elif key == "x-api-key" and api_key is None:
            api_key = value.strip()
    if bearer is None and api_key is None:
        return None
    for key, value in head.headers:
        if key == "cookie" and any(f"{name}=" in value for name in SESSION_COOKIES):
            return None
    return bearer if bearer is not None else api_key


class ClientGate:
    """Authenticates machine clients and judges their requests with the tenant's policy."""

    def __init__(
        self,
        *,
        tokens: AccessTokens,
        hasher: SecretHasher,
        keyring: Callable[[str], Keyring | None],
        minters: Mapping[str, AssertionMinter],
        publish: Publish,
        risk: Risk = lambda tenant_id, name: 0.0,
    ) -> None:
        self._tokens = tokens
        self._hasher = hasher
        self._keyring = keyring
        self._minters = minters
        self._publish = publish
        self._risk = risk
        self._rosters: dict[str, ClientRoster] = {}
        self._event_ids = SequentialEventIds()
        self._used: dict[tuple[str, str], datetime] = {}

    # -- state --------------------------------------------------------------------------
    def set_rosters(self, rosters: Mapping[str, ClientRoster], now: datetime) -> list[str]:
        """Swap in every tenant's snapshot at once; the tunnel ids (``Forward.session_id``
        of WebSocket tunnels) of credentials live before and refused now, to close."""
        before, self._rosters = self._rosters, dict(rosters)
        gone: list[str] = []
        for tenant_id, old in before.items():
            new = self._rosters.get(tenant_id, EMPTY_ROSTER)
            for name, credential_id in sorted(old.live(now) - new.live(now)):
                gone.append(tunnel_id(tenant_id, name, credential_id))
        return gone

    def roster(self, tenant_id: str) -> ClientRoster:
        return self._rosters.get(tenant_id, EMPTY_ROSTER)

    def take_last_used(self) -> dict[str, dict[str, datetime]]:
        """Last use per tenant and client since the previous call (for ``touch_many``)."""
        used, self._used = self._used, {}
        by_tenant: dict[str, dict[str, datetime]] = {}
        for (tenant_id, name), at in used.items():
            by_tenant.setdefault(tenant_id, {})[name] = at
        return by_tenant

    # -- the check ----------------------------------------------------------------------
    def check(
        self,
        head: RequestHead,
        route: Route,
        credential: str,
        policy: CompiledPolicy | None,
        now: datetime,
    ) -> Verdict:
        tenant_id = route.tenant_id
        roster = self.roster(tenant_id)
        kind = "api_key" if credential.startswith(API_KEY_PREFIX) else "token"
        scopes: frozenset[str] | None = None
        if kind == "api_key":
            result = roster.api_key(credential, self._hasher, now)
        else:
            claims = self._tokens.verify(credential, tenant_id, self._keyring(tenant_id))
            if isinstance(claims, str):
                result = Refused(claims)
            else:
                result = roster.check(
                    claims.client_name, claims.credential_id, now, claims.issued_at
                )
                scopes = _granted(claims, result)
        if isinstance(result, Refused):
            return self._refuse(head, route, result, kind, now)
        client = result.client
        self._remember_use(tenant_id, client.name, now)
        request = AccessRequest(
            tenant_id=tenant_id,
            app=route.app,
            method=head.method,
            path=head.path,
            source_ip=head.client_ip,
            now=now,
            subject=Subject(
                user_id=CLIENT_PREFIX + client.name,
                username=client.name,
                email="",
                groups=frozenset(),
                kind="client",
            ),
            mfa_method=None,
            mfa_at=None,
            scopes=client.scopes if scopes is None else scopes,
            risk=self._risk(tenant_id, client.name),
        )
        if policy is None:
            decision = Decision(Effect.DENY, None, (f"No policy governs app {route.app!r}.",))
        else:
            decision = policy.decide(request)
        if decision.effect is Effect.ALLOW:
            return self._allow(head, route, result, kind, decision, now)
        reasons = decision.reasons or ("No rule allows this client.",)
        self._event(
            head, route, Kind.ACCESS_DENY, Outcome.DENY, client.name, "; ".join(reasons), now,
            credential=kind,
        )  # fmt: skip
        # A machine cannot answer a step-up: it is a denial.
        return problem_json(403, "Forbidden", " ".join(reasons), app=route.app)

    def _allow(
        self,
        head: RequestHead,
        route: Route,
        accepted: Accepted,
        kind: str,
        decision: Decision,
        now: datetime,
    ) -> Verdict:
        minter = self._minters.get(route.tenant_id)
        if minter is None:
            return problem_json(503, "Unavailable", "No signing key for this firm.")
        name = accepted.client.name
        assertion = minter.mint(
            audience=route.app,
            subject=CLIENT_PREFIX + name,
            username=name,
            email="",
            groups=(),
            session_id=CLIENT_PREFIX + name,
            mfa_method=None,
            mfa_at=None,
        )
        self._event(
            head, route, Kind.ACCESS_ALLOW, Outcome.ALLOW, name, decision.rule, now,
            credential=kind,
        )  # fmt: skip
        return Forward(
            upstream=route.upstream,
            add_headers=(
                ("x-menshen-assertion", assertion),
                ("x-menshen-user", name),
                ("x-menshen-email", ""),
                ("x-menshen-groups", ""),
                ("x-menshen-client", name),
            ),
            strip_cookies=SESSION_COOKIES,
            drop_headers=_CREDENTIALS,
            # Only tunnels are bound (a plain request ends by itself; binding it would make
            # the transfer meter count bytes no session owns).
            session_id=(
                tunnel_id(route.tenant_id, name, accepted.credential_id)
                if head.is_websocket
                else None
            ),
            max_body_bytes=route.max_body_bytes,
        )

    def _refuse(
        self, head: RequestHead, route: Route, refused: Refused, kind: str, now: datetime
    ) -> Respond:
        self._event(
            head,
            route,
            Kind.ACCESS_DENY,
            Outcome.DENY,
            refused.client_name,
            f"machine credential refused: {refused.reason}",
            now,
            credential=kind,
        )
        answer = problem_json(401, "Unauthorized", "The credential was not accepted.")
        return Respond(
            answer.status, (*answer.headers, ("www-authenticate", _CHALLENGE)), answer.body
        )

    def _remember_use(self, tenant_id: str, name: str, now: datetime) -> None:
        if len(self._used) >= MAX_USED and (tenant_id, name) not in self._used:
            return  # bookkeeping only: never let it grow without bound
        self._used[(tenant_id, name)] = now

    def _event(
        self,
        head: RequestHead,
        route: Route,
        kind: str,
        outcome: str,
        client_name: str | None,
        reason: str | None,
        now: datetime,
        **extra: object,
    ) -> None:
        details: dict[str, object] = {"method": head.method, "path": head.path, "host": head.host}
        details.update(extra)
        self._publish(
            AuditEvent(
                tenant_id=route.tenant_id,
                kind=kind,
                outcome=outcome,
                at=now,
                actor=None if client_name is None else CLIENT_PREFIX + client_name[:64],
                app=route.app,
                ip=head.client_ip,
                reason=reason,
                details=details,
                id=self._event_ids(),
            )
        )


def _granted(claims: TokenClaims, result: Accepted | Refused) -> frozenset[str] | None:
    """The token's scopes that the client still may use (a scope withdrawn since the token
    was issued is gone at once)."""
    if isinstance(result, Refused):
        return None
    return claims.scopes & result.client.scopes
