"""Managing one tenant's machine clients: create, credentials, rotation, suspension.

Credentials are returned in clear exactly once, when made; the store keeps keyed hashes
(``menshen.identity.clients.secrets``). Rotation adds a new credential and makes the old
ones of the same kind expire after a grace period, so two are valid while the client's
operators deploy the new one (as with Okta's and Azure's client-secret rotation).
``authenticate_secret`` serves the token endpoint (RFC 6749 §2.3.1): it reads the store,
so it runs off the event loop; the gateway's per-request checks use a ``ClientRoster``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from menshen.clock import Clock
from menshen.errors import InvalidInput, NotFound
from menshen.identity.clients.model import (
    API_KEY,
    KINDS,
    SECRET,
    Accepted,
    ClientRoster,
    Refused,
    check_name,
    check_scopes,
)
from menshen.identity.clients.secrets import (
    SecretHasher,
    new_api_key,
    new_client_secret,
    well_formed_secret,
)
from menshen.store.api import MachineClientRepository
from menshen.store.clients import ClientCredentialRecord, MachineClientRecord

__all__ = ["IssuedCredential", "MachineClientService"]

DEFAULT_CREDENTIAL_LIFETIME = timedelta(days=90)
DEFAULT_ROTATION_GRACE = timedelta(hours=24)
MAX_LIVE_CREDENTIALS = 4  # per kind: the current one, one in rotation, a little headroom


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A credential just made: ``value`` is shown to the operator once and never again."""

    record: ClientCredentialRecord
    value: str


class MachineClientService:
    def __init__(
        self,
        repository: MachineClientRepository,
        tenant_id: str,
        hasher: SecretHasher,
        clock: Clock,
        *,
        token: Callable[[int], str] = secrets.token_urlsafe,
        key_id: Callable[[int], str] = secrets.token_hex,
    ) -> None:
        self._repo = repository
        self._tenant_id = tenant_id
        self._hasher = hasher
        self._clock = clock
        self._token = token
        self._key_id = key_id

    # -- clients ------------------------------------------------------------------------
    def create(
        self,
        name: str,
        *,
        by: str,
        description: str = "",
        owner: str = "",
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
        kind: str = SECRET,
        credential_lifetime: timedelta | None = DEFAULT_CREDENTIAL_LIFETIME,
    ) -> tuple[MachineClientRecord, IssuedCredential]:
        """A new client with its first credential; Conflict if the name is taken."""
        now = self._clock.now()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("a client's expiry must lie in the future")
        record = MachineClientRecord(
            tenant_id=self._tenant_id,
            name=check_name(name),
            description=_text(description, 500),
            owner=_text(owner, 255),
            scopes=" ".join(check_scopes(scopes)),
            created_at=now,
            created_by=_text(by, 255),
            expires_at=expires_at,
        )
        with_credential = self._new_credential(record.name, kind, credential_lifetime, now)
        self._repo.add(record, with_credential.record)
        return record, with_credential

    def get(self, name: str) -> MachineClientRecord:
        record = self._repo.get(name)
        if record is None:
            raise NotFound(f"no machine client {name!r}")
        return record

    def suspend(self, name: str, *, by: str, reason: str) -> bool:
        """Refuse the client and every token it holds now; False if suspended already."""
        self.get(name)
        return self._repo.suspend(name, at=self._clock.now(), by=by, reason=_text(reason, 500))

    def resume(self, name: str) -> bool:
        """Lift a suspension (its earlier tokens stay refused); False if not suspended."""
        self.get(name)
        return self._repo.resume(name)

    def delete(self, name: str) -> None:
        if not self._repo.delete(name):
            raise NotFound(f"no machine client {name!r}")

    # -- credentials --------------------------------------------------------------------
    def rotate(
        self,
        name: str,
        *,
        kind: str = SECRET,
        grace: timedelta = DEFAULT_ROTATION_GRACE,
        lifetime: timedelta | None = DEFAULT_CREDENTIAL_LIFETIME,
    ) -> IssuedCredential:
        """A new credential of ``kind``; the older ones of that kind expire after ``grace``."""
        if grace < timedelta(0):
            raise InvalidInput("the rotation grace period cannot be negative")
        self.get(name)
        now = self._clock.now()
        live = [c for c in self._repo.credentials(name) if c.kind == kind and _live(c, now)]
        if len(live) >= MAX_LIVE_CREDENTIALS:
            raise InvalidInput(
                f"{name} has {len(live)} live {kind} credentials; revoke one before rotating"
            )
        issued = self._new_credential(name, kind, lifetime, now)
        self._repo.add_credential(issued.record)
        self._repo.expire_credentials(name, kind=kind, by=now + grace, keep=issued.record.id)
        return issued

    def revoke_credential(self, name: str, credential_id: str) -> None:
        """Refuse one credential (and the tokens issued with it) at once."""
        found = self._repo.credential(credential_id)
        if found is None or found.client_name != name:
            raise NotFound(f"{name} has no credential {credential_id!r}")
        if not self._repo.revoke_credential(credential_id, self._clock.now()):
            raise InvalidInput(f"credential {credential_id} is revoked already")

    def authenticate_secret(self, name: str, secret: str) -> Accepted | Refused:
        """Check a ``client_id`` / ``client_secret`` pair (RFC 6749 §2.3.1) against the
        store; the reason of a refusal is for the audit log only."""
        if not well_formed_secret(secret):
            return Refused("malformed client secret", None)
        try:
            check_name(name)
        except InvalidInput:
            return Refused("unknown client", None)
        client = self._repo.get(name)
        if client is None:
            return Refused("unknown client", None)
        now = self._clock.now()
        credentials = [c for c in self._repo.credentials(name) if c.kind == SECRET]
        roster = ClientRoster.of(self._tenant_id, [client], credentials)
        matched = [
            c.id
            for c in credentials
            if self._hasher.matches(c.secret_hash, self._tenant_id, SECRET, c.id, secret)
        ]
        if not matched:
            return Refused("wrong client secret", name)
        return roster.check(name, matched[0], now)

    def _new_credential(
        self, name: str, kind: str, lifetime: timedelta | None, now: datetime
    ) -> IssuedCredential:
        if kind not in KINDS:
            raise InvalidInput(f"credential kind must be one of {', '.join(KINDS)}")
        if lifetime is not None and lifetime <= timedelta(0):
            raise InvalidInput("a credential's lifetime must be positive")
        if kind == API_KEY:
            key = new_api_key(self._token, self._key_id)
            credential_id, secret, value = key.key_id, key.secret, str(key)
        else:
            credential_id = uuid.UUID(bytes=bytes.fromhex(self._key_id(16))).hex
            secret = value = new_client_secret(self._token)
        record = ClientCredentialRecord(
            tenant_id=self._tenant_id,
            id=credential_id,
            client_name=name,
            kind=kind,
            secret_hash=self._hasher.digest(self._tenant_id, kind, credential_id, secret),
            created_at=now,
            expires_at=None if lifetime is None else now + lifetime,
        )
        return IssuedCredential(record, value)


def load_roster(repository: MachineClientRepository, tenant_id: str) -> ClientRoster:
    """The tenant's clients and credentials as a snapshot (blocking: run in a thread)."""
    return ClientRoster.of(tenant_id, repository.list(), repository.credentials())


def _live(credential: ClientCredentialRecord, now: datetime) -> bool:
    expired = credential.expires_at is not None and now >= credential.expires_at
    return credential.revoked_at is None and not expired


def _text(value: str, limit: int) -> str:
    """Printable, bounded free text (descriptions and owners end up in tables and logs)."""
    cleaned = "".join(ch for ch in value if ch >= " " and ch != "\x7f")
    if len(cleaned) > limit:
        raise InvalidInput(f"text longer than {limit} characters")
    return cleaned
