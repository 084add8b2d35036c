"""The provider login behind a menshen session: sealed tokens and how it follows rotation.

The refresh token (OpenID Connect Core 1.0 §12) and the ID token (the ``id_token_hint`` of
RP-Initiated Logout 1.0 §2) are sealed with AES-GCM under their own key, with the tenant, the
session id and the token's kind as associated data, so a sealed token copied to another row
or tenant fails to open. A session id changes when the user passes a second factor or a
step-up (the old session is revoked as "rotated" at the instant the new one is created): the
login then moves to the new session, re-sealed for its id. A fresh sign-in with a password
(a successor at password level) is a new login and does not inherit the provider's.
Blocking: callers run these in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from menshen.crypto import SecretBox
from menshen.errors import InvalidInput
from menshen.store.api import Store, TenantStore
from menshen.store.records import FederatedSessionRecord, SessionRecord

__all__ = ["FederatedSessions", "TokenKind", "TokenVault"]

TokenKind = Literal["refresh", "id"]
ROTATED = "rotated"
_MAX_HOPS = 4


class TokenVault:
    """Seals provider tokens to one session of one tenant."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box

    @staticmethod
    def _aad(tenant_id: str, session_id: str, kind: TokenKind) -> bytes:
        return f"oidc-{kind}-token\x00{tenant_id}\x00{session_id}".encode()

    def seal(
        self, tenant_id: str, session_id: str, kind: TokenKind, token: str | None
    ) -> bytes | None:
        if token is None:
            return None
        return self._box.seal(token.encode(), self._aad(tenant_id, session_id, kind))

    def open(
        self, tenant_id: str, session_id: str, kind: TokenKind, sealed: bytes | None
    ) -> str | None:
        """The token, None if none was stored; ``InvalidInput`` if it was altered or moved."""
        if sealed is None:
            return None
        return self._box.open(sealed, self._aad(tenant_id, session_id, kind)).decode()

    def reseal(
        self, record: FederatedSessionRecord, session_id: str
    ) -> tuple[bytes | None, bytes | None]:
        """The record's tokens sealed for ``session_id`` instead."""
        tenant = record.tenant_id
        return (
            self.seal(
                tenant,
                session_id,
                "refresh",
                self.open(tenant, record.session_id, "refresh", record.refresh_token_sealed),
            ),
            self.seal(
                tenant,
                session_id,
                "id",
                self.open(tenant, record.session_id, "id", record.id_token_sealed),
            ),
        )


class FederatedSessions:
    """Provider logins of sessions, in the store."""

    def __init__(self, store: Store, vault: TokenVault) -> None:
        self._store = store
        self.vault = vault

    def _tenant(self, tenant_id: str) -> TenantStore:
        return self._store.tenant(tenant_id)

    def record_login(
        self,
        session: SessionRecord,
        *,
        provider: str,
        subject: str,
        refresh_token: str | None,
        id_token: str | None,
        now: datetime,
        next_check_at: datetime,
    ) -> FederatedSessionRecord:
        """Keep the login behind a session just created by single sign-on."""
        tenant, sid = session.tenant_id, session.id
        record = FederatedSessionRecord(
            tenant_id=tenant,
            session_id=sid,
            user_id=session.user_id,
            provider=provider,
            subject=subject,
            refresh_token_sealed=self.vault.seal(tenant, sid, "refresh", refresh_token),
            id_token_sealed=self.vault.seal(tenant, sid, "id", id_token),
            created_at=now,
            checked_at=now,
            next_check_at=next_check_at,
        )
        self._tenant(tenant).federated_sessions.add(record)
        return record

    def current(self, session: SessionRecord) -> FederatedSessionRecord | None:
        """The login behind ``session``, moved here first if it still sits on a session this
        one replaced (a rotation the re-check has not yet followed)."""
        repo = self._tenant(session.tenant_id).federated_sessions
        found = repo.get(session.id)
        if found is not None or session.auth_level != "mfa":
            return found
        history = self._tenant(session.tenant_id).sessions.list_for_user(
            session.user_id, include_revoked=True
        )
        step = session
        for _ in range(_MAX_HOPS):
            before = _predecessor(history, step)
            if before is None:
                return None
            record = repo.get(before.id)
            if record is not None:
                return self._move(record, session.id)
            step = before
        return None

    def follow_rotation(self, record: FederatedSessionRecord) -> FederatedSessionRecord | None:
        """Move the login of an ended session to the session that replaced it, if any;
        otherwise forget it. The moved record, or None."""
        tenant = self._tenant(record.tenant_id)
        history = tenant.sessions.list_for_user(record.user_id, include_revoked=True)
        by_id = {s.id: s for s in history}
        step = by_id.get(record.session_id)
        for _ in range(_MAX_HOPS):
            if step is None:
                break
            after = _successor(history, step)
            if after is None:
                break
            if after.revoked_at is None:
                if tenant.federated_sessions.get(after.id) is not None:
                    break  # the new session has a provider login of its own
                return self._move(record, after.id)
            step = after
        tenant.federated_sessions.delete(record.session_id)
        return None

    def forget(self, tenant_id: str, session_id: str) -> bool:
        return self._tenant(tenant_id).federated_sessions.delete(session_id)

    def _move(
        self, record: FederatedSessionRecord, session_id: str
    ) -> FederatedSessionRecord | None:
        try:
            refresh, id_token = self.vault.reseal(record, session_id)
        except InvalidInput:
            # Tokens that do not open stay as they are: they will not open for the new
            # session either, so its re-check revokes it (fail closed).
            refresh, id_token = record.refresh_token_sealed, record.id_token_sealed
        moved = FederatedSessionRecord(
            tenant_id=record.tenant_id,
            session_id=session_id,
            user_id=record.user_id,
            provider=record.provider,
            subject=record.subject,
            refresh_token_sealed=refresh,
            id_token_sealed=id_token,
            created_at=record.created_at,
            checked_at=record.checked_at,
            next_check_at=record.next_check_at,
        )
        repo = self._tenant(record.tenant_id).federated_sessions
        if not repo.replace(record.session_id, moved):
            return repo.get(session_id)  # another process moved it first
        return moved


def _successor(history: Sequence[SessionRecord], old: SessionRecord) -> SessionRecord | None:
    """The session created in the rotation that revoked ``old`` at second-factor level."""
    if old.revoke_reason != ROTATED or old.revoked_at is None:
        return None
    found = [s for s in history if s.created_at == old.revoked_at and s.id != old.id]
    if len(found) != 1 or found[0].auth_level != "mfa":
        return None  # none, ambiguous, or a new password sign-in: no inheritance
    return found[0]


def _predecessor(history: Sequence[SessionRecord], new: SessionRecord) -> SessionRecord | None:
    found = [
        s
        for s in history
        if s.revoke_reason == ROTATED and s.revoked_at == new.created_at and s.id != new.id
    ]
    if len(found) != 1 or new.auth_level != "mfa":
        return None
    return found[0]
