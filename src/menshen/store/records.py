"""Plain records the store reads and writes.

The store is the platform layer: the core packages (identity, sessions, events) import
these records; nothing here imports upward. Every record carries its ``tenant_id``.
Times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class TenantRecord:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    tenant_id: str
    id: str
    username: str
    email: str
    display_name: str
    password_hash: str | None
    disabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class GroupRecord:
    tenant_id: str
    id: str
    name: str
    description: str
    mfa_required: bool


@dataclass(frozen=True, slots=True)
class TotpRecord:
    """A user's TOTP credential. ``secret_sealed`` is encrypted with the data key."""

    tenant_id: str
    user_id: str
    secret_sealed: bytes
    confirmed: bool
    last_used_step: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RecoveryCodeRecord:
    tenant_id: str
    id: str
    user_id: str
    code_hash: str
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class ThrottleRecord:
    """Failure counter for one key (``user:<id>`` or ``ip:<address>``)."""

    tenant_id: str
    key: str
    failures: int
    window_started_at: datetime
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A server-side session. The cookie holds a random token; only its hash is stored."""

    tenant_id: str
    id: str
    token_hash: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    absolute_expires_at: datetime
    idle_timeout_seconds: int
    user_agent_family: str
    ip: str
    auth_level: str  # "password" (MFA still owed) or "mfa"
    mfa_method: str | None  # "totp", "recovery_code", later "webauthn"
    mfa_at: datetime | None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None
    device_id: str | None = None  # the enrolled device it was used from, once known


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    """An ES256 key for identity assertions; the private half is sealed."""

    tenant_id: str
    kid: str
    private_key_sealed: bytes
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None  # no longer signs; still published until its tokens expire


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One row of the append-only, hash-chained audit log."""

    tenant_id: str
    seq: int
    id: str
    at: datetime
    kind: str
    outcome: str
    actor: str | None
    subject: str | None
    app: str | None
    ip: str | None
    session_id: str | None
    reason: str | None
    details: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True, slots=True)
class ConfigObjectRecord:
    """A declarative object (App, Policy) as applied from YAML; ``spec`` is its JSON body."""

    tenant_id: str
    kind: str
    name: str
    spec: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WebAuthnCredentialRecord:
    """A user's passkey (W3C WebAuthn Level 2 §4, "credential record").

    ``credential_id`` is the authenticator's credential id, base64url without padding;
    ``public_key`` the COSE_Key (RFC 8152 §7) it was registered with. ``cloned_at`` is set
    when an assertion's signature counter went backwards (§6.1.1): the credential is refused
    from then on.
    """

    tenant_id: str
    credential_id: str
    user_id: str
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backup_eligible: bool
    backed_up: bool
    cloned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebAuthnChallengeRecord:
    """A pending WebAuthn ceremony: its challenge, kept server-side until used once.

    ``purpose`` is ``"register"`` or ``"authenticate"``; ``user_id`` is None for a
    passwordless login (the user is not known until the assertion names its credential);
    ``binding_hash`` is the SHA-256 (hex) of the caller's binding (a session or pre-login
    cookie id), so a challenge cannot be finished from another browser.
    """

    tenant_id: str
    id: str
    purpose: str
    challenge: bytes
    user_id: str | None
    binding_hash: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """An enrolled device (NIST SP 800-207 §2.1 tenet 5, device posture in access decisions).

    ``public_jwk`` is the device-bound P-256 key (its RFC 7638 thumbprint in
    ``key_thumbprint``, unique per tenant); a device enrolled with a CSR also carries the
    serial (hex) and expiry of the client certificate the tenant CA issued. ``approved_trust``
    is the most an admin vouches for (``registered`` until approved); the trust the policy sees
    is derived from it and the last posture report. ``posture`` is that report's body;
    ``posture_reported_at`` only moves forward (replayed reports are refused).
    """

    tenant_id: str
    id: str
    user_id: str
    name: str
    key_thumbprint: str
    public_jwk: dict[str, Any]
    certificate_serial: str | None
    certificate_not_after: datetime | None
    approved_trust: str
    approved_by: str | None
    approved_at: datetime | None
    posture: dict[str, Any]
    posture_reported_at: datetime | None
    last_report_id: str | None
    last_seen_at: datetime | None
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceAuthorityRecord:
    """A tenant's device certificate authority; the private key is sealed."""

    tenant_id: str
    certificate_pem: str
    private_key_sealed: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FederatedSessionRecord:
    """A session opened through single sign-on (OpenID Connect Core 1.0 §12).

    The provider's refresh token and ID token are sealed with the data key; the refresh
    token is used every re-check interval (``next_check_at``) to ask the provider whether
    the login still stands; the ID token is the ``id_token_hint`` of RP-initiated logout.
    """

    tenant_id: str
    session_id: str
    user_id: str
    provider: str
    subject: str
    refresh_token_sealed: bytes | None
    id_token_sealed: bytes | None
    created_at: datetime
    checked_at: datetime
    next_check_at: datetime


@dataclass(frozen=True, slots=True)
class DeviceEnrolmentRecord:
    """A single-use code a signed-in user gives the device agent to enrol a device.

    Only the code's SHA-256 is stored; ``used_at``/``device_id`` are set when it is redeemed.
    """

    tenant_id: str
    code_hash: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    device_id: str | None = None
