"""Record factories for the store tests: valid defaults, override what the test is about."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from menshen.store.records import (
    AuditRecord,
    ConfigObjectRecord,
    GroupRecord,
    RecoveryCodeRecord,
    SessionRecord,
    SigningKeyRecord,
    ThrottleRecord,
    TotpRecord,
    UserRecord,
)

T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


def user(tenant_id: str = "t1", id: str = "u1", **changes: Any) -> UserRecord:
    base = UserRecord(
        tenant_id=tenant_id,
        id=id,
        username=f"user-{id}",
        email=f"{id}@example.test",
        display_name=f"User {id}",
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        disabled=False,
        created_at=T0,
        updated_at=T0,
    )
    return replace(base, **changes)


def group(tenant_id: str = "t1", id: str = "g1", **changes: Any) -> GroupRecord:
    base = GroupRecord(
        tenant_id=tenant_id, id=id, name=f"group-{id}", description="", mfa_required=False
    )
    return replace(base, **changes)


def totp(tenant_id: str = "t1", user_id: str = "u1", **changes: Any) -> TotpRecord:
    base = TotpRecord(
        tenant_id=tenant_id,
        user_id=user_id,
        secret_sealed=b"\x00sealed\xffsecret",
        confirmed=True,
        last_used_step=None,
        created_at=T0,
    )
    return replace(base, **changes)


def recovery_code(
    tenant_id: str = "t1", id: str = "rc1", user_id: str = "u1", **changes: Any
) -> RecoveryCodeRecord:
    base = RecoveryCodeRecord(
        tenant_id=tenant_id, id=id, user_id=user_id, code_hash=f"hash-{id}", used_at=None
    )
    return replace(base, **changes)


def throttle(tenant_id: str = "t1", key: str = "user:u1", **changes: Any) -> ThrottleRecord:
    base = ThrottleRecord(
        tenant_id=tenant_id, key=key, failures=1, window_started_at=T0, locked_until=None
    )
    return replace(base, **changes)


def session(
    tenant_id: str = "t1", id: str = "s1", user_id: str = "u1", **changes: Any
) -> SessionRecord:
    base = SessionRecord(
        tenant_id=tenant_id,
        id=id,
        token_hash=f"token-hash-{id}",
        user_id=user_id,
        created_at=T0,
        last_seen_at=T0,
        absolute_expires_at=T0 + timedelta(hours=12),
        idle_timeout_seconds=1800,
        user_agent_family="Firefox",
        ip="203.0.113.7",
        auth_level="mfa",
        mfa_method="totp",
        mfa_at=T0,
    )
    return replace(base, **changes)


def signing_key(tenant_id: str = "t1", kid: str = "k1", **changes: Any) -> SigningKeyRecord:
    base = SigningKeyRecord(
        tenant_id=tenant_id,
        kid=kid,
        private_key_sealed=b"\x01sealed-private-key",
        public_jwk={"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "kid": kid},
        created_at=T0,
        retired_at=None,
    )
    return replace(base, **changes)


def audit(tenant_id: str = "t1", seq: int = 1, **changes: Any) -> AuditRecord:
    base = AuditRecord(
        tenant_id=tenant_id,
        seq=seq,
        id=f"ev-{tenant_id}-{seq}",
        at=T0 + timedelta(seconds=seq),
        kind="auth.login",
        outcome="success",
        actor="u1",
        subject="u1",
        app=None,
        ip="203.0.113.7",
        session_id=None,
        reason=None,
        details={"method": "password", "n": seq, "nested": {"ok": True}},
        prev_hash=f"h{seq - 1}",
        hash=f"h{seq}",
    )
    return replace(base, **changes)


def audit_chain(tenant_id: str, first: int, count: int) -> list[AuditRecord]:
    return [audit(tenant_id, seq) for seq in range(first, first + count)]


def config_object(
    tenant_id: str = "t1", kind: str = "App", name: str = "wiki", **changes: Any
) -> ConfigObjectRecord:
    base = ConfigObjectRecord(
        tenant_id=tenant_id,
        kind=kind,
        name=name,
        spec={"host": f"{name}.corp.test", "upstream": "http://10.0.0.5:8080", "tags": ["a"]},
        updated_at=T0,
    )
    return replace(base, **changes)
