"""Signing keys of one tenant, for identity assertions (RFC 7515 JWS, RFC 7517 JWK).

A retired key no longer signs but stays published until the tokens it signed expire;
deleting it is the last step of a rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select, update

from menshen.errors import NotFound
from menshen.store.records import SigningKeyRecord
from menshen.store.schema import signing_keys
from menshen.store.scoped import Scope, record_of


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
        """Remove ``kid``; NotFound if there is no such key."""
        stmt = delete(signing_keys).where(
            self._scope.where(signing_keys), signing_keys.c.kid == kid
        )
        with self._scope.changing() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound(f"no signing key {kid!r}")
