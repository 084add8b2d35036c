"""Server-side sessions with an in-memory working set.

The request path asks ``lookup`` — dictionary work only, no I/O. The store is the source
of truth: every active session is loaded at start, creations and revocations are written
through, last-seen times are flushed in batches, and ``refresh`` picks up revocations
made by other processes (the CLI, another replica).

A revoked session is removed from memory before ``revoke`` returns, so the very next
request on it is refused; listeners (WebSocket tunnels, the assertion cache) are told too.

A session is bound to the enrolled device it is first seen from (``bind_device``: in memory
at once, written in batches like last-seen times); revoking the device (``revoke_device``)
ends every session bound to it (NIST SP 800-207 §2.1 tenet 5).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from menshen.clock import Clock
from menshen.errors import InvalidInput
from menshen.sessions.cookies import is_well_formed, new_token, token_hash
from menshen.store.api import Store
from menshen.store.records import SessionRecord

RevocationListener = Callable[[SessionRecord], None]


@dataclass(frozen=True, slots=True)
class SessionTimeouts:
    idle: timedelta = timedelta(hours=1)
    absolute: timedelta = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Lookup:
    """Outcome of a cookie lookup: the session, or why there is none (for the audit log)."""

    session: SessionRecord | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    record: SessionRecord


class SessionService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        timeouts: SessionTimeouts,
        random: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._store = store
        self._clock = clock
        self._timeouts = timeouts
        self._random = random
        self._by_token: dict[tuple[str, str], SessionRecord] = {}
        self._token_of: dict[str, tuple[str, str]] = {}
        self._last_seen: dict[str, datetime] = {}
        self._dirty: set[str] = set()
        self._device_bindings: dict[str, str] = {}
        self._listeners: list[RevocationListener] = []
        self._idle_limits: dict[int, timedelta] = {}
        self._revocations_seen_at = clock.now()

    # -- wiring -------------------------------------------------------------------------
    def on_revoke(self, listener: RevocationListener) -> None:
        self._listeners.append(listener)

    def load(self, tenant_ids: Sequence[str]) -> int:
        """Load every active session of these tenants (blocking; call at start)."""
        now = self._clock.now()
        self._revocations_seen_at = now
        for tenant_id in tenant_ids:
            for record in self._store.tenant(tenant_id).sessions.list_active(now):
                self._remember(record)
        return len(self._token_of)

    @property
    def live_count(self) -> int:
        return len(self._token_of)

    def live_by_tenant(self) -> dict[str, int]:
        """Sessions held in memory per tenant (operations metrics); an expired one leaves
        at its next use or revocation."""
        counts: dict[str, int] = {}
        for tenant_id, _ in self._by_token:
            counts[tenant_id] = counts.get(tenant_id, 0) + 1
        return counts

    # -- the request path ---------------------------------------------------------------
    def lookup(
        self, tenant_id: str, token: str, user_agent_family: str, *, now: datetime | None = None
    ) -> Lookup:
        """The live session of ``token``; ``now`` lets the caller share one clock read
        across a request (performance: the guard reads the clock once per request)."""
        if not is_well_formed(token):
            return Lookup(None, "malformed session cookie")
        record = self._by_token.get((tenant_id, token_hash(token)))
        if record is None:
            return Lookup(None, "unknown or revoked session")
        if now is None:
            now = self._clock.now()
        if now >= record.absolute_expires_at:
            self._forget(record.id)
            return Lookup(None, "session expired")
        last_seen = self._last_seen.get(record.id, record.last_seen_at)
        idle = self._idle_limits.get(record.idle_timeout_seconds)
        if idle is None:
            # Performance: one timedelta per distinct timeout, not one per request.
            idle = self._idle_limits[record.idle_timeout_seconds] = timedelta(
                seconds=record.idle_timeout_seconds
            )
        if now - last_seen > idle:
            self._forget(record.id)
            return Lookup(None, "session idle too long")
        if record.user_agent_family != user_agent_family:
            return Lookup(None, "session used from a different browser")
        self._last_seen[record.id] = now
        self._dirty.add(record.id)
        return Lookup(record)

    def get(self, session_id: str) -> SessionRecord | None:
        key = self._token_of.get(session_id)
        return None if key is None else self._by_token.get(key)

    # -- changes (store first, then memory) ---------------------------------------------
    async def create(
        self,
        tenant_id: str,
        user_id: str,
        *,
        user_agent_family: str,
        ip: str,
        auth_level: str,
        mfa_method: str | None = None,
        mfa_at: datetime | None = None,
        replaces: str | None = None,
        same_login: bool = False,
    ) -> NewSession:
        """Issue a new session; ``replaces`` is revoked in the same transaction (rotation).

        ``same_login`` says the new session continues ``replaces``'s login, raised to a
        stronger or fresher factor (a second factor, a step-up, a re-verification): a provider
        login behind it (single sign-on) moves to the new session in that transaction. A new
        sign-in (password, passwordless passkey, single sign-on) leaves it False and inherits
        nothing; the old session's provider login then ends with it. A login is only carried
        over from a live session: if ``replaces`` ended meanwhile, the store refuses
        (``Conflict`` or ``NotFound``) rather than issue a session the login never reached.
        """
        if same_login and replaces is None:
            raise InvalidInput("same_login needs the session it continues (replaces)")
        now = self._clock.now()
        token = new_token(self._random)
        record = SessionRecord(
            tenant_id=tenant_id,
            id=secrets.token_hex(12),
            token_hash=token_hash(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=now + self._timeouts.absolute,
            idle_timeout_seconds=int(self._timeouts.idle.total_seconds()),
            user_agent_family=user_agent_family,
            ip=ip,
            auth_level=auth_level,
            mfa_method=mfa_method,
            mfa_at=mfa_at,
        )
        repo = self._store.tenant(tenant_id).sessions
        if replaces is not None and (same_login or self.get(replaces) is not None):
            await asyncio.to_thread(repo.replace, replaces, record, same_login=same_login)
            old = self.get(replaces)
            self._forget(replaces)
            if old is not None:
                self._notify(replace(old, revoked_at=now, revoke_reason="rotated"))
        else:
            await asyncio.to_thread(repo.add, record)
        self._remember(record)
        return NewSession(token, record)

    async def revoke(self, tenant_id: str, session_id: str, *, by: str, reason: str) -> bool:
        now = self._clock.now()
        record = self.get(session_id)
        self._forget(session_id)  # refuse at once, even before the store answers
        done = await asyncio.to_thread(
            self._store.tenant(tenant_id).sessions.revoke, session_id, at=now, by=by, reason=reason
        )
        if record is not None:
            self._notify(replace(record, revoked_at=now, revoked_by=by, revoke_reason=reason))
        return done or record is not None

    async def revoke_user(self, tenant_id: str, user_id: str, *, by: str, reason: str) -> int:
        now = self._clock.now()
        mine = [
            r for r in self._by_token.values() if r.tenant_id == tenant_id and r.user_id == user_id
        ]
        for record in mine:
            self._forget(record.id)
        ids = await asyncio.to_thread(
            self._store.tenant(tenant_id).sessions.revoke_for_user,
            user_id,
            at=now,
            by=by,
            reason=reason,
        )
        for record in mine:
            self._notify(replace(record, revoked_at=now, revoked_by=by, revoke_reason=reason))
        return len(set(ids) | {r.id for r in mine})

    def bind_device(self, session: SessionRecord, device_id: str) -> SessionRecord:
        """Bind a live, unbound session to ``device_id`` (the store learns it with the next
        ``take_device_bindings`` batch); a bound or unknown session is returned unchanged."""
        current = self.get(session.id)
        if current is None or current.device_id is not None:
            return current or session
        bound = replace(current, device_id=device_id)
        self._by_token[(bound.tenant_id, bound.token_hash)] = bound
        self._device_bindings[bound.id] = device_id
        return bound

    async def revoke_device(self, tenant_id: str, device_id: str, *, by: str, reason: str) -> int:
        """End every session bound to ``device_id`` (here and in the store); how many."""
        now = self._clock.now()
        mine = [
            r
            for r in self._by_token.values()
            if r.tenant_id == tenant_id and r.device_id == device_id
        ]
        for record in mine:
            self._forget(record.id)
        repo = self._store.tenant(tenant_id).sessions

        def write() -> list[str]:
            # Bindings still waiting for their batch must reach the store first, or the
            # sessions they name would not be found by another replica's revocation.
            repo.bind_devices({r.id: device_id for r in mine})
            return repo.revoke_for_device(device_id, at=now, by=by, reason=reason)

        ids = await asyncio.to_thread(write)
        for record in mine:
            self._notify(replace(record, revoked_at=now, revoked_by=by, revoke_reason=reason))
        return len(set(ids) | {r.id for r in mine})

    def sessions_of(self, tenant_id: str, user_id: str) -> list[SessionRecord]:
        return sorted(
            (
                r
                for r in self._by_token.values()
                if r.tenant_id == tenant_id and r.user_id == user_id
            ),
            key=lambda r: r.created_at,
        )

    def last_seen(self, session_id: str) -> datetime | None:
        record = self.get(session_id)
        if record is None:
            return None
        return self._last_seen.get(session_id, record.last_seen_at)

    # -- background upkeep --------------------------------------------------------------
    def take_last_seen(self) -> dict[str, dict[str, datetime]]:
        """Last-seen times changed since the previous call, by tenant (on the event loop)."""
        dirty, self._dirty = self._dirty, set()
        by_tenant: dict[str, dict[str, datetime]] = {}
        for session_id in dirty:
            record = self.get(session_id)
            seen = self._last_seen.get(session_id)
            if record is not None and seen is not None:
                by_tenant.setdefault(record.tenant_id, {})[session_id] = seen
        return by_tenant

    def write_last_seen(self, by_tenant: dict[str, dict[str, datetime]]) -> int:
        """Write a ``take_last_seen`` batch (blocking; run in a thread)."""
        for tenant_id, seen_map in by_tenant.items():
            self._store.tenant(tenant_id).sessions.touch_many(seen_map)
        return sum(len(m) for m in by_tenant.values())

    def take_device_bindings(self) -> dict[str, dict[str, str]]:
        """Device bindings made since the previous call, by tenant (on the event loop)."""
        pending, self._device_bindings = self._device_bindings, {}
        by_tenant: dict[str, dict[str, str]] = {}
        for session_id, device_id in pending.items():
            record = self.get(session_id)
            if record is not None:
                by_tenant.setdefault(record.tenant_id, {})[session_id] = device_id
        return by_tenant

    def write_device_bindings(self, by_tenant: dict[str, dict[str, str]]) -> int:
        """Write a ``take_device_bindings`` batch (blocking; run in a thread)."""
        for tenant_id, bindings in by_tenant.items():
            self._store.tenant(tenant_id).sessions.bind_devices(bindings)
        return sum(len(m) for m in by_tenant.values())

    def flush_last_seen(self) -> int:
        """Take and write in one go (for callers off the event loop: tests, shutdown)."""
        return self.write_last_seen(self.take_last_seen())

    def fetch_revocations(self, tenant_ids: Sequence[str]) -> list[SessionRecord]:
        """Revocations made elsewhere since the last call (blocking; run in a thread)."""
        since = self._revocations_seen_at - timedelta(seconds=5)
        self._revocations_seen_at = self._clock.now()
        found: list[SessionRecord] = []
        for tenant_id in tenant_ids:
            found.extend(self._store.tenant(tenant_id).sessions.revoked_since(since))
        return found

    def apply_revocations(self, records: Sequence[SessionRecord]) -> int:
        """Drop sessions revoked elsewhere (on the event loop)."""
        dropped = 0
        for record in records:
            live = self.get(record.id)
            if live is not None:
                self._forget(record.id)
                self._notify(record)
                dropped += 1
        return dropped

    # -- internals ----------------------------------------------------------------------
    def _remember(self, record: SessionRecord) -> None:
        key = (record.tenant_id, record.token_hash)
        self._by_token[key] = record
        self._token_of[record.id] = key

    def _forget(self, session_id: str) -> None:
        key = self._token_of.pop(session_id, None)
        if key is not None:
            self._by_token.pop(key, None)
        self._last_seen.pop(session_id, None)
        self._dirty.discard(session_id)
        self._device_bindings.pop(session_id, None)

    def _notify(self, record: SessionRecord) -> None:
        for listener in self._listeners:
            listener(record)
