"""Re-checking single sign-on sessions at their provider (OpenID Connect Core 1.0 §12).

Every ``recheck_interval`` a session opened through a provider is confirmed by using its
refresh token at the provider's token endpoint (RFC 6749 §6). The provider's answer decides:

- new tokens: the login stands; a rotated refresh token replaces the stored one, and groups
  mapped from a new ID token are synced (NIST SP 800-207 §2.1 tenet 6: re-evaluate access);
- a refusal (``invalid_grant``: the user was disabled or removed, consent or the grant was
  revoked; a changed subject; a token that fails validation): the menshen session is revoked
  at once, by ``idp:<provider>``, with the provider's reason in the audit log;
- no refresh token was ever issued: the session is revoked when due, since the provider
  cannot be asked without the user (the user signs in again);
- the provider unreachable or answering 5xx/429: retried a little later; once the login has
  gone unconfirmed for one interval more than usual, the session is revoked (fail closed).

A re-check is claimed in the store first, so replicas never use one refresh token twice at
once. Each round does bounded work (``batch`` records per tenant, ``concurrency`` at once).
Revocations reach other replicas through the usual revocation refresh. A login is found by
its session id: a second factor or a step-up moves it to the new session in the transaction
that rotates the session, a revocation deletes it in the same way, and each round deletes the
logins of sessions past their absolute expiry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from menshen.access.sso_clients import ProviderClients
from menshen.access.sso_sessions import FederatedSessions, TokenOwner
from menshen.access.sso_users import sync_groups
from menshen.clock import Clock
from menshen.errors import InvalidInput
from menshen.events.model import AuditEvent, Outcome
from menshen.identity.oidc.client import FederatedLogin
from menshen.identity.oidc.model import FederatedIdentity, FederationFailed
from menshen.identity.service import IdentityService
from menshen.sessions.service import SessionService
from menshen.settings import IdentityProviderSettings
from menshen.store.api import Store
from menshen.store.records import FederatedSessionRecord

__all__ = ["RECHECK_EVENT", "RecheckRound", "SessionRecheck"]

RECHECK_EVENT = "sso.recheck"
LEASE = timedelta(minutes=1)
MAX_RETRY = timedelta(seconds=30)
MIN_RETRY = timedelta(seconds=1)
_log = logging.getLogger(__name__)

CheckResult = Literal["confirmed", "revoked", "deferred", "skipped"]


@dataclass(frozen=True, slots=True)
class RecheckRound:
    """What one round did."""

    confirmed: int = 0
    revoked: int = 0
    deferred: int = 0
    purged: int = 0  # logins of sessions that expired, deleted


def retry_delay(interval: timedelta) -> timedelta:
    """How long to wait after a transient failure: a fifth of the interval, 1–30 s."""
    return max(MIN_RETRY, min(interval / 5, MAX_RETRY))


class SessionRecheck:
    def __init__(
        self,
        *,
        store: Store,
        clients: ProviderClients,
        federated: FederatedSessions,
        sessions: SessionService,
        identities: Callable[[str], IdentityService],
        clock: Clock,
        publish: Callable[[AuditEvent], None],
        groups_changed: Callable[[str, str], Awaitable[None]],
        batch: int = 64,
        concurrency: int = 8,
    ) -> None:
        self._store = store
        self._clients = clients
        self._federated = federated
        self._sessions = sessions
        self._identities = identities
        self._clock = clock
        self._publish = publish
        self._groups_changed = groups_changed
        self._batch = batch
        self._concurrency = concurrency

    async def run_forever(self, interval_seconds: float) -> None:
        """Run a round every ``interval_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.run_once()
            except Exception:
                _log.exception("single sign-on re-check round failed; retrying next round")

    async def run_once(self) -> RecheckRound:
        """One bounded round over every tenant with providers."""
        counts = {"confirmed": 0, "revoked": 0, "deferred": 0, "skipped": 0}
        purged = 0
        for tenant_id in self._clients.tenants():
            repo = self._store.tenant(tenant_id).federated_sessions
            purged += await asyncio.to_thread(repo.purge_ended, self._clock.now())
            due = await asyncio.to_thread(repo.due, self._clock.now(), self._batch)
            for start in range(0, len(due), self._concurrency):
                chunk = due[start : start + self._concurrency]
                results = await asyncio.gather(
                    *(self._check(record) for record in chunk), return_exceptions=True
                )
                for record, result in zip(chunk, results, strict=True):
                    if isinstance(result, BaseException):
                        _log.error("re-check of session %s failed: %r", record.session_id, result)
                    else:
                        counts[result] += 1
        return RecheckRound(counts["confirmed"], counts["revoked"], counts["deferred"], purged)

    # -- one session --------------------------------------------------------------------
    async def _check(self, record: FederatedSessionRecord) -> CheckResult:
        repo = self._store.tenant(record.tenant_id).federated_sessions
        now = self._clock.now()
        lease = now + LEASE
        claimed = await asyncio.to_thread(
            repo.claim,
            record.session_id,
            expected_next_check_at=record.next_check_at,
            until=lease,
        )
        if not claimed:
            return "skipped"  # another replica is on it
        seen = self._sessions.last_seen(record.session_id)
        if await asyncio.to_thread(self._idle, record, seen, now):
            # The session died of inactivity: nothing to confirm, no token to spend.
            await asyncio.to_thread(self._federated.forget, record.tenant_id, record.session_id)
            return "skipped"
        provider = self._clients.get(record.tenant_id, record.provider)
        if provider is None:
            return await self._revoke(record, "provider is no longer configured for the tenant")
        try:
            token = self._federated.vault.open_record(record, "refresh")
        except InvalidInput:
            return await self._revoke(record, "stored refresh token failed to open")
        if token is None:
            return await self._revoke(
                record, "provider issued no refresh token: re-authentication needed"
            )
        client = self._clients.back_channel(record.tenant_id, provider)
        before = FederatedIdentity(
            provider.name, provider.issuer, record.subject, None, None, (), (), {}
        )
        try:
            login = await asyncio.to_thread(client.refresh, token, before)
        except FederationFailed as exc:
            if exc.transient:
                return await self._unconfirmed(record, provider, lease, exc.reason)
            return await self._revoke(record, f"provider refused the session: {exc.reason}")
        return await self._confirmed(record, provider, lease, login)

    def _idle(self, record: FederatedSessionRecord, seen: datetime | None, now: datetime) -> bool:
        session = self._store.tenant(record.tenant_id).sessions.get(record.session_id)
        if session is None:
            return True
        last = max(session.last_seen_at, seen or session.last_seen_at)
        return now - last > timedelta(seconds=session.idle_timeout_seconds)

    async def _confirmed(
        self,
        record: FederatedSessionRecord,
        provider: IdentityProviderSettings,
        lease: datetime,
        login: FederatedLogin,
    ) -> CheckResult:
        if login.tokens.id_token is not None:
            try:
                changed = await asyncio.to_thread(self._sync, record, provider, login.identity)
            except FederationFailed as exc:
                return await self._revoke(record, exc.reason)
            if changed:
                await self._groups_changed(record.tenant_id, record.user_id)
        vault, owner = self._federated.vault, TokenOwner.of(record)
        now = self._clock.now()
        await asyncio.to_thread(
            self._store.tenant(record.tenant_id).federated_sessions.checked,
            record.session_id,
            expected_next_check_at=lease,
            refresh_token_sealed=vault.seal(owner, "refresh", login.tokens.refresh_token)
            or record.refresh_token_sealed,
            id_token_sealed=vault.seal(owner, "id", login.tokens.id_token)
            or record.id_token_sealed,
            checked_at=now,
            next_check_at=now + provider.recheck_interval,
        )
        return "confirmed"

    def _sync(
        self,
        record: FederatedSessionRecord,
        provider: IdentityProviderSettings,
        identity: FederatedIdentity,
    ) -> bool:
        user = self._store.tenant(record.tenant_id).users.get(record.user_id)
        if user is None or user.disabled:
            raise FederationFailed("user was removed or disabled in menshen")
        return sync_groups(self._identities(record.tenant_id), user, provider, identity)

    async def _unconfirmed(
        self,
        record: FederatedSessionRecord,
        provider: IdentityProviderSettings,
        lease: datetime,
        reason: str,
    ) -> CheckResult:
        now = self._clock.now()
        deadline = record.checked_at + 2 * provider.recheck_interval
        since = record.checked_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        if now >= deadline:
            return await self._revoke(
                record, f"provider unreachable, login not confirmed since {since}: {reason}"
            )
        retry_at = min(now + retry_delay(provider.recheck_interval), deadline)
        await asyncio.to_thread(
            self._store.tenant(record.tenant_id).federated_sessions.checked,
            record.session_id,
            expected_next_check_at=lease,
            refresh_token_sealed=record.refresh_token_sealed,
            id_token_sealed=record.id_token_sealed,
            checked_at=record.checked_at,
            next_check_at=retry_at,
        )
        self._audit(record, Outcome.FAILURE, f"provider unreachable, retrying: {reason}")
        return "deferred"

    async def _revoke(self, record: FederatedSessionRecord, reason: str) -> CheckResult:
        by = f"idp:{record.provider}"
        # Revoking the session deletes its provider login in the same transaction.
        await self._sessions.revoke(record.tenant_id, record.session_id, by=by, reason=reason)
        self._audit(record, Outcome.DENY, reason)
        return "revoked"

    def _audit(self, record: FederatedSessionRecord, outcome: str, reason: str) -> None:
        self._publish(
            AuditEvent(
                tenant_id=record.tenant_id,
                kind=RECHECK_EVENT,
                outcome=outcome,
                at=self._clock.now(),
                actor=f"idp:{record.provider}",
                subject=record.user_id,
                session_id=record.session_id,
                reason=reason[:300],
                details={"provider": record.provider},
            )
        )
