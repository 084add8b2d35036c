"""The provider login behind a menshen session, with its tokens sealed.

The refresh token (OpenID Connect Core 1.0 §12) and the ID token (the ``id_token_hint`` of
RP-Initiated Logout 1.0 §2) are sealed with AES-GCM under their own key, with the tenant, the
user, the provider and the token's kind as associated data: a sealed token copied to another
tenant, user or provider, or swapped for the other kind, fails to open. The session id is
not bound, so the login can be handed to the next session of the same login (a second factor,
a step-up) without opening the tokens: the sessions repository moves the row in the
transaction that rotates the session (``SessionService.create(..., same_login=True)``), and
deletes it when the session is revoked or replaced by a new sign-in.
Blocking: callers run these in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from menshen.crypto import SecretBox
from menshen.store.api import Store, TenantStore
from menshen.store.records import FederatedSessionRecord, SessionRecord

__all__ = ["FederatedSessions", "TokenKind", "TokenOwner", "TokenVault"]

TokenKind = Literal["refresh", "id"]


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """Whose provider tokens these are: what their seal binds."""

    tenant_id: str
    user_id: str
    provider: str

    @classmethod
    def of(cls, record: FederatedSessionRecord) -> TokenOwner:
        return cls(record.tenant_id, record.user_id, record.provider)


class TokenVault:
    """Seals provider tokens to one user's login at one provider in one tenant."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box

    @staticmethod
    def _aad(owner: TokenOwner, kind: TokenKind) -> bytes:
        parts = (f"oidc-{kind}-token", owner.tenant_id, owner.user_id, owner.provider)
        return "\x00".join(parts).encode()

    def seal(self, owner: TokenOwner, kind: TokenKind, token: str | None) -> bytes | None:
        if token is None:
            return None
        return self._box.seal(token.encode(), self._aad(owner, kind))

    def open(self, owner: TokenOwner, kind: TokenKind, sealed: bytes | None) -> str | None:
        """The token, None if none was stored; ``InvalidInput`` if it was altered or moved."""
        if sealed is None:
            return None
        return self._box.open(sealed, self._aad(owner, kind)).decode()

    def open_record(self, record: FederatedSessionRecord, kind: TokenKind) -> str | None:
        """The record's token of ``kind`` (see ``open``)."""
        sealed = record.refresh_token_sealed if kind == "refresh" else record.id_token_sealed
        return self.open(TokenOwner.of(record), kind, sealed)


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
        owner = TokenOwner(session.tenant_id, session.user_id, provider)
        record = FederatedSessionRecord(
            tenant_id=session.tenant_id,
            session_id=session.id,
            user_id=session.user_id,
            provider=provider,
            subject=subject,
            refresh_token_sealed=self.vault.seal(owner, "refresh", refresh_token),
            id_token_sealed=self.vault.seal(owner, "id", id_token),
            created_at=now,
            checked_at=now,
            next_check_at=next_check_at,
        )
        self._tenant(session.tenant_id).federated_sessions.add(record)
        return record

    def of(self, session: SessionRecord) -> FederatedSessionRecord | None:
        """The provider login behind ``session``, if it was opened through single sign-on."""
        return self._tenant(session.tenant_id).federated_sessions.get(session.id)

    def forget(self, tenant_id: str, session_id: str) -> bool:
        return self._tenant(tenant_id).federated_sessions.delete(session_id)
