"""Machine clients of one tenant and their credentials (RFC 6749 §2.3 client authentication).

A machine client — a partner bank's integration, a batch job — is named (the name is the
OAuth ``client_id`` and what policy rules list under ``clients:``). Its credentials are
OAuth2 client secrets and API keys, each with its own expiry, stored as keyed hashes only
(``menshen.identity.clients.secrets``): a database read gives no credential away.

Suspension is a row state, never a delete, so the client's history stays; every change of
a client or a credential bumps the tenant's revision, which makes running gateways reload
their snapshot (``Scope.changing``). ``touch_many`` (last use) does not: it is bookkeeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update

from menshen.store.schema import client_credentials, machine_clients
from menshen.store.scoped import Scope, record_of

__all__ = [
    "ClientCredentialRecord",
    "MachineClientRecord",
    "SqlMachineClientRepository",
]

_clients = machine_clients
_creds = client_credentials


@dataclass(frozen=True, slots=True)
class MachineClientRecord:
    """A machine identity. ``scopes`` is the space-separated list it may ask for (RFC 6749
    §3.3); ``tokens_not_before``: access tokens issued earlier are refused (set on suspend,
    so resuming does not revive tokens minted before it)."""

    tenant_id: str
    name: str
    description: str
    owner: str
    scopes: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    suspended_at: datetime | None = None
    suspended_by: str | None = None
    suspend_reason: str | None = None
    tokens_not_before: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClientCredentialRecord:
    """One credential: ``kind`` is ``secret`` (OAuth2 client secret) or ``api_key``; for an
    API key ``id`` is the public key id printed in the key itself."""

    tenant_id: str
    id: str
    client_name: str
    kind: str
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class SqlMachineClientRepository:
    """``MachineClientRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    # -- clients ------------------------------------------------------------------------
    def add(self, client: MachineClientRecord, *credentials: ClientCredentialRecord) -> None:
        """Add a client with its first credentials, all or nothing; Conflict if taken."""
        with self._scope.changing() as conn:
            conn.execute(insert(_clients).values(self._scope.row(client)))
            for credential in credentials:
                conn.execute(insert(_creds).values(self._scope.row(credential)))

    def get(self, name: str) -> MachineClientRecord | None:
        query = select(_clients).where(self._scope.where(_clients), _clients.c.name == name)
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(MachineClientRecord, row)

    def list(self) -> Sequence[MachineClientRecord]:
        """Every client of the tenant, by name."""
        query = select(_clients).where(self._scope.where(_clients)).order_by(_clients.c.name)
        with self._scope.db.read() as conn:
            return [record_of(MachineClientRecord, row) for row in conn.execute(query)]

    def suspend(self, name: str, *, at: datetime, by: str, reason: str) -> bool:
        """Refuse the client from now on; False if absent or already suspended."""
        stmt = (
            update(_clients)
            .where(
                self._scope.where(_clients),
                _clients.c.name == name,
                _clients.c.suspended_at.is_(None),
            )
            .values(suspended_at=at, suspended_by=by, suspend_reason=reason, tokens_not_before=at)
        )
        with self._scope.changing() as conn:
            return conn.execute(stmt).rowcount == 1

    def resume(self, name: str) -> bool:
        """Lift a suspension (tokens issued before it stay refused); False if not suspended."""
        stmt = (
            update(_clients)
            .where(
                self._scope.where(_clients),
                _clients.c.name == name,
                _clients.c.suspended_at.is_not(None),
            )
            .values(suspended_at=None, suspended_by=None, suspend_reason=None)
        )
        with self._scope.changing() as conn:
            return conn.execute(stmt).rowcount == 1

    def delete(self, name: str) -> bool:
        """Remove the client and every credential it has; False if there was none."""
        with self._scope.changing() as conn:
            conn.execute(
                delete(_creds).where(self._scope.where(_creds), _creds.c.client_name == name)
            )
            done = conn.execute(
                delete(_clients).where(self._scope.where(_clients), _clients.c.name == name)
            )
            return done.rowcount == 1

    def touch_many(self, last_used: dict[str, datetime]) -> None:
        """Record when clients were last seen (never moves a time backwards)."""
        if not last_used:
            return
        column = _clients.c.last_used_at
        at = bindparam("at", type_=column.type)
        stmt = (
            update(_clients)
            .where(
                self._scope.where(_clients),
                _clients.c.name == bindparam("client"),
                (column.is_(None)) | (column < at),
            )
            .values(last_used_at=at)
        )
        rows = [{"client": name, "at": when} for name, when in sorted(last_used.items())]
        with self._scope.db.write() as conn:
            conn.execute(stmt, rows)

    # -- credentials --------------------------------------------------------------------
    def add_credential(self, credential: ClientCredentialRecord) -> None:
        """Add a credential; Conflict on a duplicate id, NotFound without the client."""
        with self._scope.changing() as conn:
            conn.execute(insert(_creds).values(self._scope.row(credential)))

    def credential(self, credential_id: str) -> ClientCredentialRecord | None:
        query = select(_creds).where(self._scope.where(_creds), _creds.c.id == credential_id)
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else record_of(ClientCredentialRecord, row)

    def credentials(self, name: str | None = None) -> Sequence[ClientCredentialRecord]:
        """The credentials of one client (or of every client), oldest first."""
        query = select(_creds).where(self._scope.where(_creds))
        if name is not None:
            query = query.where(_creds.c.client_name == name)
        query = query.order_by(_creds.c.created_at, _creds.c.id)
        with self._scope.db.read() as conn:
            return [record_of(ClientCredentialRecord, row) for row in conn.execute(query)]

    def revoke_credential(self, credential_id: str, at: datetime) -> bool:
        """Refuse the credential from ``at``; False if absent or revoked already."""
        stmt = (
            update(_creds)
            .where(
                self._scope.where(_creds),
                _creds.c.id == credential_id,
                _creds.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        with self._scope.changing() as conn:
            return conn.execute(stmt).rowcount == 1

    def expire_credentials(self, name: str, *, kind: str, by: datetime, keep: str) -> int:
        """Make every live ``kind`` credential of ``name`` but ``keep`` expire by ``by`` at the
        latest (the grace period of a rotation); how many were shortened."""
        column = _creds.c.expires_at
        limit = bindparam("by", by, type_=column.type)
        stmt = (
            update(_creds)
            .where(
                self._scope.where(_creds),
                _creds.c.client_name == name,
                _creds.c.kind == kind,
                _creds.c.id != keep,
                _creds.c.revoked_at.is_(None),
                (column.is_(None)) | (column > limit),
            )
            .values(expires_at=limit)
        )
        with self._scope.changing() as conn:
            return int(conn.execute(stmt).rowcount)
