"""Signing keys of one tenant, for identity assertions (RFC 7515 JWS, RFC 7517 JWK).

A retired key no longer signs but stays published until the tokens it signed expire;
deleting it is the last step of a rotation.

A retired key that signed a compliance report (its ``kid`` is some
``compliance_reports.key_id`` of the tenant) is not deleted: its private half is destroyed
and its public JWK kept, so the report stays verifiable for as long as an auditor may ask
(ISO/IEC 27001:2022 A.5.33 protection of records; NIST SP 800-53 rev5 AU-10 non-repudiation,
SC-12 key management). Such a key is "public only": it never signs again and is left out of
the assertion key set, but ``menshen report verify`` still finds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, func, insert, select, update

from menshen.errors import Conflict, NotFound
from menshen.store.records import SigningKeyRecord
from menshen.store.schema import compliance_reports, signing_keys
from menshen.store.scoped import Scope, record_of

__all__ = ["PUBLIC_ONLY", "SqlKeyRepository", "is_public_only"]

PUBLIC_ONLY = b""
"""The sealed private half of a key kept only to verify what it signed."""


def is_public_only(key: SigningKeyRecord) -> bool:
    """True for a retired key kept for its signed reports (its private half destroyed)."""
    return key.private_key_sealed == PUBLIC_ONLY


class SqlKeyRepository:
    """``KeyRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, key: SigningKeyRecord) -> None:
        row = self._scope.row(key)
        with self._scope.changing() as conn:
            conn.execute(insert(signing_keys).values(row))

    def list(self) -> Sequence[SigningKeyRecord]:
        """Every key, oldest first."""
        query = (
            select(signing_keys)
            .where(self._scope.where(signing_keys))
            .order_by(signing_keys.c.created_at, signing_keys.c.kid)
        )
        with self._scope.db.read() as conn:
            return [record_of(SigningKeyRecord, row) for row in conn.execute(query)]

    def retire(self, kid: str, at: datetime) -> None:
        """Stop signing with ``kid`` from ``at``; a second retire keeps the first time."""
        stmt = (
            update(signing_keys)
            .where(self._scope.where(signing_keys), signing_keys.c.kid == kid)
            .values(
                retired_at=func.coalesce(
                    signing_keys.c.retired_at,
                    bindparam("at", at, type_=signing_keys.c.retired_at.type),
                )
            )
        )
        with self._scope.changing() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound(f"no signing key {kid!r}")

    def delete(self, kid: str) -> None:
        """Remove ``kid``; NotFound if there is no such key.

        A key named by one of the tenant's compliance reports keeps its public half (see
        the module notes); an active key so named is refused with ``Conflict`` (retire it
        first). The check and the change happen in one transaction.
        """
        mine = (self._scope.where(signing_keys), signing_keys.c.kid == kid)
        signed_reports = exists().where(
            compliance_reports.c.tenant_id == self._scope.tenant_id,
            compliance_reports.c.key_id == kid,
        )
        with self._scope.changing() as conn:
            found = conn.execute(select(signing_keys.c.retired_at).where(*mine)).first()
            if found is None:
                raise NotFound(f"no signing key {kid!r}")
            if not conn.execute(select(signed_reports)).scalar():
                conn.execute(delete(signing_keys).where(*mine))
                return
            if found.retired_at is None:
                raise Conflict(f"signing key {kid!r} signed compliance reports; retire it first")
            conn.execute(update(signing_keys).where(*mine).values(private_key_sealed=PUBLIC_ONLY))
