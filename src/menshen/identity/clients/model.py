"""Machine clients as the gateway sees them: a pure, immutable snapshot (NIST SP 800-207 §3.3.1).

A ``ClientRoster`` holds one tenant's clients and credentials in memory, so that every API
request is checked against the live state — suspended, expired, deleted, credential revoked
— without touching the store (DESIGN.md §3). Checks return a reason instead of raising:
the caller logs the reason and tells the client only that it was refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from menshen.errors import InvalidInput
from menshen.identity.clients.secrets import SecretHasher, parse_api_key
from menshen.store.clients import ClientCredentialRecord, MachineClientRecord

__all__ = [
    "API_KEY",
    "EMPTY_ROSTER",
    "SECRET",
    "Accepted",
    "ClientRoster",
    "LiveClient",
    "LiveCredential",
    "Refused",
    "check_name",
    "check_scopes",
]

SECRET = "secret"  # noqa: S105 (a credential kind, not a password)
API_KEY = "api_key"
KINDS = (SECRET, API_KEY)
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62})")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}")


def check_name(name: str) -> str:
    """A client name as policies list it: lower-case letters, digits, ``.``, ``_``, ``-``."""
    if _NAME.fullmatch(name) is None:
        raise InvalidInput(
            f"client name {name!r}: 1-63 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Distinct, sorted scope tokens (RFC 6749 §3.3); InvalidInput on a bad one."""
    found = sorted(set(scopes))
    for scope in found:
        if _SCOPE.fullmatch(scope) is None:
            raise InvalidInput(f"scope {scope!r} is not an RFC 6749 scope token")
    return tuple(found)


@dataclass(frozen=True, slots=True)
class LiveClient:
    name: str
    scopes: frozenset[str]
    expires_at: datetime | None
    suspended: bool
    tokens_not_before: datetime | None

    def refusal(self, now: datetime) -> str | None:
        """Why the client may not act at ``now``, or None."""
        if self.suspended:
            return "client suspended"
        if self.expires_at is not None and now >= self.expires_at:
            return "client expired"
        return None


@dataclass(frozen=True, slots=True)
class LiveCredential:
    id: str
    client_name: str
    kind: str
    secret_hash: str
    expires_at: datetime | None
    revoked: bool

    def refusal(self, now: datetime) -> str | None:
        if self.revoked:
            return "credential revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "credential expired"
        return None


@dataclass(frozen=True, slots=True)
class Accepted:
    client: LiveClient
    credential_id: str


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str
    client_name: str | None = None


class ClientRoster:
    """One tenant's machine clients and credentials at one moment (immutable)."""

    __slots__ = ("_clients", "_credentials", "tenant_id")

    def __init__(
        self,
        tenant_id: str,
        clients: Mapping[str, LiveClient],
        credentials: Mapping[str, LiveCredential],
    ) -> None:
        self.tenant_id = tenant_id
        self._clients = dict(clients)
        self._credentials = dict(credentials)

    @classmethod
    def of(
        cls,
        tenant_id: str,
        clients: Iterable[MachineClientRecord],
        credentials: Iterable[ClientCredentialRecord],
    ) -> ClientRoster:
        live = {
            c.name: LiveClient(
                name=c.name,
                scopes=frozenset(c.scopes.split()),
                expires_at=c.expires_at,
                suspended=c.suspended_at is not None,
                tokens_not_before=c.tokens_not_before,
            )
            for c in clients
        }
        creds = {
            r.id: LiveCredential(
                r.id, r.client_name, r.kind, r.secret_hash, r.expires_at, r.revoked_at is not None
            )
            for r in credentials
        }
        return cls(tenant_id, live, creds)

    def client(self, name: str) -> LiveClient | None:
        return self._clients.get(name)

    def live(self, now: datetime) -> frozenset[tuple[str, str]]:
        """(client, credential) pairs that may act at ``now``."""
        return frozenset(
            (c.client_name, c.id)
            for c in self._credentials.values()
            if isinstance(self.check(c.client_name, c.id, now), Accepted)
        )

    def __len__(self) -> int:
        return len(self._clients)

    def check(
        self, name: str, credential_id: str, now: datetime, issued_at: datetime | None = None
    ) -> Accepted | Refused:
        """Whether ``name`` may act now with ``credential_id`` (and a token issued at
        ``issued_at``): the per-request check of continuous verification."""
        client = self._clients.get(name)
        if client is None:
            return Refused("unknown client", name)
        problem = client.refusal(now)
        if problem is not None:
            return Refused(problem, name)
        if (
            issued_at is not None
            and client.tokens_not_before is not None
            # ``iat`` has whole seconds: a token of the suspension's own second is refused too.
            and issued_at <= client.tokens_not_before
        ):
            return Refused("token issued before the client's suspension", name)
        credential = self._credentials.get(credential_id)
        if credential is None or credential.client_name != name:
            return Refused("unknown credential", name)
        problem = credential.refusal(now)
        if problem is not None:
            return Refused(problem, name)
        return Accepted(client, credential_id)

    def api_key(self, presented: str, hasher: SecretHasher, now: datetime) -> Accepted | Refused:
        """Authenticate an API key ``mk_<id>_<secret>``."""
        key = parse_api_key(presented)
        if key is None:
            return Refused("malformed API key")
        credential = self._credentials.get(key.key_id)
        if credential is None or credential.kind != API_KEY:
            return Refused("unknown API key")
        name = credential.client_name
        if not hasher.matches(
            credential.secret_hash, self.tenant_id, API_KEY, key.key_id, key.secret
        ):
            return Refused("wrong API key secret", name)
        return self.check(name, key.key_id, now)


EMPTY_ROSTER = ClientRoster("", {}, {})
