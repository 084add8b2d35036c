"""Passkeys of one tenant: WebAuthn credential records and pending ceremonies.

W3C WebAuthn Level 2 §7.2 step 21 (store the new signature counter) and §6.1.1 (a counter
that does not grow signals a cloned authenticator) are a conditional UPDATE on the counter
read before verification, so two assertions verified at once cannot both move it.
A challenge is taken — read and deleted in one transaction — so it is used at most once
(§13.4.3, challenges must not be replayable), however many replicas race for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from menshen.errors import NotFound
from menshen.store.records import WebAuthnChallengeRecord, WebAuthnCredentialRecord
from menshen.store.schema import webauthn_challenges, webauthn_credentials
from menshen.store.scoped import Scope, record_of

_table = webauthn_credentials


class SqlWebAuthnCredentialRepository:
    """``WebAuthnCredentialRepository`` on SQL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, credential: WebAuthnCredentialRecord) -> None:
        """Store a new credential; Conflict if its id is registered, NotFound if no user."""
        row = self._scope.row(credential)
        row["transports"] = list(credential.transports)
        with self._scope.changing() as conn:
            conn.execute(insert(_table).values(row))

    def get(self, credential_id: str) -> WebAuthnCredentialRecord | None:
        query = select(_table).where(
            self._scope.where(_table), _table.c.credential_id == credential_id
        )
        with self._scope.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _credential(row)

    def list_for_user(self, user_id: str) -> Sequence[WebAuthnCredentialRecord]:
        """The user's credentials, oldest first."""
        query = (
            select(_table)
            .where(self._scope.where(_table), _table.c.user_id == user_id)
            .order_by(_table.c.created_at, _table.c.credential_id)
        )
        with self._scope.db.read() as conn:
            return [_credential(row) for row in conn.execute(query)]

    def record_use(
        self,
        credential_id: str,
        *,
        expected_sign_count: int,
        sign_count: int,
        at: datetime,
        backed_up: bool,
    ) -> bool:
        """Move the counter from ``expected_sign_count``; False if it moved meanwhile or the
        credential is gone or flagged as cloned."""
        stmt = (
            update(_table)
            .where(
                self._scope.where(_table),
                _table.c.credential_id == credential_id,
                _table.c.sign_count == expected_sign_count,
                _table.c.cloned_at.is_(None),
            )
            .values(sign_count=sign_count, last_used_at=at, backed_up=backed_up)
        )
        with self._scope.db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def flag_cloned(self, credential_id: str, at: datetime) -> None:
        """Refuse the credential from now on; a second flag keeps the first time."""
        stmt = (
            update(_table)
            .where(
                self._scope.where(_table),
                _table.c.credential_id == credential_id,
                _table.c.cloned_at.is_(None),
            )
            .values(cloned_at=at)
        )
        with self._scope.changing() as conn:
            conn.execute(stmt)

    def rename(self, credential_id: str, name: str) -> None:
        """Give the credential a new name; NotFound if there is no such credential."""
        stmt = (
            update(_table)
            .where(self._scope.where(_table), _table.c.credential_id == credential_id)
            .values(name=name)
        )
        with self._scope.changing() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound(f"no passkey {credential_id!r}")

    def delete(self, credential_id: str) -> None:
        """Remove the credential; NotFound if there is no such credential."""
        stmt = delete(_table).where(
            self._scope.where(_table), _table.c.credential_id == credential_id
        )
        with self._scope.changing() as conn:
            if conn.execute(stmt).rowcount == 0:
                raise NotFound(f"no passkey {credential_id!r}")

    def add_challenge(self, challenge: WebAuthnChallengeRecord) -> None:
        """Keep a pending ceremony; Conflict if its id is taken."""
        row = self._scope.row(challenge)
        with self._scope.db.write() as conn:
            conn.execute(insert(webauthn_challenges).values(row))

    def take_challenge(self, challenge_id: str) -> WebAuthnChallengeRecord | None:
        """Read and delete the pending ceremony in one transaction; None if there is none
        (never kept, expired and purged, or already taken)."""
        where = (
            self._scope.where(webauthn_challenges),
            webauthn_challenges.c.id == challenge_id,
        )
        with self._scope.db.write() as conn:
            row = conn.execute(select(webauthn_challenges).where(*where)).first()
            if row is None:
                return None
            # A racing taker that read the same row deletes nothing and gets None.
            if conn.execute(delete(webauthn_challenges).where(*where)).rowcount != 1:
                return None
        return record_of(WebAuthnChallengeRecord, row)

    def purge_challenges(self, before: datetime) -> int:
        """Drop ceremonies that expired before ``before``; how many were dropped."""
        stmt = delete(webauthn_challenges).where(
            self._scope.where(webauthn_challenges), webauthn_challenges.c.expires_at < before
        )
        with self._scope.db.write() as conn:
            return int(conn.execute(stmt).rowcount)


def _credential(row: Any) -> WebAuthnCredentialRecord:
    values = dict(row._mapping)
    values["transports"] = tuple(values["transports"])
    return WebAuthnCredentialRecord(**values)
