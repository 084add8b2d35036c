"""Passkey ceremonies for one tenant (W3C WebAuthn Level 2 §7.1 registration, §7.2
authentication; NIST SP 800-63B §5.1.8 multi-factor cryptographic authenticators).

Where the ceremony state lives: server-side, in the store (``webauthn_challenges``). A
``begin_*`` call keeps the challenge with its purpose, user, binding and expiry and returns
only an opaque ``ceremony_id``; the caller keeps that id in its session (or a short-lived
cookie) and passes it back with the same ``binding`` (the session or pre-login cookie id).
``finish_*`` deletes the challenge before checking anything, so each challenge is tried
once, on any replica. User verification is required in both ceremonies and resident keys
at registration, so every passkey also serves passwordless login.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from menshen.clock import Clock
from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.identity.passkeys import checks
from menshen.identity.passkeys.model import (
    REAUTH_MAX_AGE,
    AttestationPolicy,
    CeremonyStart,
    PasskeyFailed,
    PasskeyLogin,
    recently_verified,
    validate_passkey_name,
)
from menshen.store.api import TenantStore
from menshen.store.records import (
    UserRecord,
    WebAuthnChallengeRecord,
    WebAuthnCredentialRecord,
)

__all__ = ["AUTHENTICATE", "SIGN_IN", "PasskeyService"]

AUTHENTICATE = "authenticate"  # a signed-in user's second factor or re-verification
SIGN_IN = "sign_in"  # passwordless sign-in: no session yet, the user is not named

Response = str | dict[str, Any]
_TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)


class PasskeyService:
    """Register, use and manage the passkeys of one tenant's users."""

    def __init__(
        self,
        tenant_store: TenantStore,
        clock: Clock,
        rp_id: str,
        rp_name: str,
        origins: Iterable[str],
        attestation_policy: AttestationPolicy,
        random: Callable[[int], bytes] = secrets.token_bytes,
        *,
        ceremony_ttl: timedelta = timedelta(minutes=5),
        reauth_max_age: timedelta = REAUTH_MAX_AGE,
    ) -> None:
        self._origins = sorted(set(origins))
        if not rp_id or not self._origins:
            raise InvalidInput("a passkey service needs an RP ID and at least one origin")
        self._store = tenant_store
        self._clock = clock
        self._rp_id = rp_id
        self._rp_name = rp_name
        self._policy = attestation_policy
        self._random = random
        self._ttl = ceremony_ttl
        self._reauth_max_age = reauth_max_age

    # -- registration (§7.1) --------------------------------------------------------------

    def begin_registration(self, user_id: str, binding: str) -> CeremonyStart:
        """Options for ``navigator.credentials.create()``; excludes the user's passkeys."""
        user = self._active_user(user_id)
        challenge = self._random(32)
        existing = self._store.webauthn.list_for_user(user.id)
        options = generate_registration_options(
            rp_id=self._rp_id,
            rp_name=self._rp_name,
            user_name=user.username,
            user_id=user.id.encode("utf-8"),
            user_display_name=user.display_name,
            challenge=challenge,
            timeout=int(self._ttl.total_seconds() * 1000),
            attestation=(
                AttestationConveyancePreference.NONE
                if self._policy.mode == "none"
                else AttestationConveyancePreference.DIRECT
            ),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                require_resident_key=True,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[_descriptor(c) for c in existing],
        )
        return self._keep(challenge, "register", user.id, binding, options_to_json(options))

    def finish_registration(
        self, ceremony_id: str, binding: str, response: Response, name: str
    ) -> WebAuthnCredentialRecord:
        """Verify the attestation and store the new passkey; PasskeyFailed if refused."""
        label = validate_passkey_name(name)
        now = self._clock.now()
        pending = checks.take_challenge(
            self._store.webauthn, ceremony_id, purpose="register", binding=binding, now=now
        )
        if pending.user_id is None:
            raise PasskeyFailed("wrong_ceremony")
        user = self._active_user(pending.user_id)
        credential = checks.parse_registration(response)
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=pending.challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origins,
                require_user_verification=True,
                pem_root_certs_bytes_by_fmt=_roots(self._policy),
            )
        except Exception as exc:  # every refusal, and any parser surprise, fails closed
            raise PasskeyFailed(checks.reason_of(exc)) from exc
        if not self._policy.allows(verified.aaguid, AttestationFormat(verified.fmt).value):
            raise PasskeyFailed("attestation_not_allowed")
        transports = credential.response.transports or []
        record = WebAuthnCredentialRecord(
            tenant_id=self._store.tenant_id,
            credential_id=checks.b64url(verified.credential_id),
            user_id=user.id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=tuple(t.value for t in transports),
            aaguid=verified.aaguid,
            name=label,
            created_at=now,
            last_used_at=None,
            backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
            backed_up=verified.credential_backed_up,
        )
        try:
            self._store.webauthn.add(record)
        except (Conflict, NotFound) as exc:
            raise PasskeyFailed("credential_not_storable") from exc
        return record

    # -- authentication (§7.2) ------------------------------------------------------------

    def begin_authentication(
        self, binding: str, user_id: str | None = None, *, purpose: str = AUTHENTICATE
    ) -> CeremonyStart:
        """Options for ``navigator.credentials.get()``.

        Without ``user_id`` (passwordless) ``allowCredentials`` is empty and the browser
        offers the discoverable passkeys it holds for this RP; with it (step-up, second
        factor) only that user's usable passkeys are allowed. ``purpose`` keeps ceremonies
        of different entry points apart: one started for sign-in cannot finish a step-up.
        """
        challenge = self._random(32)
        allowed: list[PublicKeyCredentialDescriptor] = []
        if user_id is not None:
            passkeys = self._store.webauthn.list_for_user(user_id)
            allowed = [_descriptor(c) for c in passkeys if c.cloned_at is None]
        options = generate_authentication_options(
            rp_id=self._rp_id,
            challenge=challenge,
            timeout=int(self._ttl.total_seconds() * 1000),
            allow_credentials=allowed,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return self._keep(challenge, purpose, user_id, binding, options_to_json(options))

    def finish_authentication(
        self, ceremony_id: str, binding: str, response: Response, *, purpose: str = AUTHENTICATE
    ) -> PasskeyLogin:
        """Verify the assertion and record the use; PasskeyFailed if refused."""
        now = self._clock.now()
        pending = checks.take_challenge(
            self._store.webauthn, ceremony_id, purpose=purpose, binding=binding, now=now
        )
        assertion = checks.parse_assertion(response)
        stored = self._store.webauthn.get(checks.b64url(assertion.raw_id))
        if stored is None:
            raise PasskeyFailed("unknown_credential")
        if pending.user_id is not None and stored.user_id != pending.user_id:
            raise PasskeyFailed("credential_of_another_user")
        handle = assertion.response.user_handle
        if handle is None and pending.user_id is None:
            raise PasskeyFailed("user_handle_missing")  # §7.2 step 6: required when unnamed
        if handle is not None and handle != stored.user_id.encode("utf-8"):
            raise PasskeyFailed("user_handle_mismatch")
        if stored.cloned_at is not None:
            raise PasskeyFailed("credential_flagged_cloned")
        self._active_user(stored.user_id)
        try:
            verified = verify_authentication_response(
                credential=assertion,
                expected_challenge=pending.challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origins,
                credential_public_key=stored.public_key,
                # The counter is judged below, after the signature, so that only a genuine
                # assertion can flag a credential as cloned.
                credential_current_sign_count=0,
                require_user_verification=True,
            )
        except Exception as exc:
            raise PasskeyFailed(checks.reason_of(exc)) from exc
        if checks.sign_count_regressed(stored.sign_count, verified.new_sign_count):
            self._store.webauthn.flag_cloned(stored.credential_id, now)
            raise PasskeyFailed("sign_count_regression")
        moved = self._store.webauthn.record_use(
            stored.credential_id,
            expected_sign_count=stored.sign_count,
            sign_count=verified.new_sign_count,
            at=now,
            backed_up=verified.credential_backed_up,
        )
        if not moved:
            raise PasskeyFailed("concurrent_use")
        return PasskeyLogin(
            user_id=stored.user_id,
            credential_id=stored.credential_id,
            at=now,
            user_verified=verified.user_verified,
            backed_up=verified.credential_backed_up,
        )

    # -- management -----------------------------------------------------------------------

    def list_passkeys(self, user_id: str) -> Sequence[WebAuthnCredentialRecord]:
        """The user's passkeys, oldest first (with names and last-used times)."""
        return self._store.webauthn.list_for_user(user_id)

    def rename_passkey(self, user_id: str, credential_id: str, name: str) -> None:
        """Rename one of the user's passkeys; NotFound if the user has no such passkey."""
        label = validate_passkey_name(name)
        self._owned(user_id, credential_id)
        self._store.webauthn.rename(credential_id, label)

    def remove_passkey(
        self, user_id: str, credential_id: str, *, reauthenticated_at: datetime | None
    ) -> None:
        """Remove one of the user's passkeys; the user must have re-authenticated recently.

        PasskeyFailed("reauthentication_required") when ``reauthenticated_at`` is missing,
        older than the maximum age or in the future; NotFound if there is no such passkey.
        """
        if not recently_verified(reauthenticated_at, self._clock.now(), self._reauth_max_age):
            raise PasskeyFailed("reauthentication_required")
        self._owned(user_id, credential_id)
        self._store.webauthn.delete(credential_id)

    def purge_expired_ceremonies(self) -> int:
        """Drop ceremonies nobody finished; how many (run it now and then)."""
        return self._store.webauthn.purge_challenges(self._clock.now())

    # -- helpers --------------------------------------------------------------------------

    def _keep(
        self, challenge: bytes, purpose: str, user_id: str | None, binding: str, options: str
    ) -> CeremonyStart:
        now = self._clock.now()
        record = WebAuthnChallengeRecord(
            tenant_id=self._store.tenant_id,
            id=checks.b64url(self._random(32)),
            purpose=purpose,
            challenge=challenge,
            user_id=user_id,
            binding_hash=checks.binding_hash(binding),
            created_at=now,
            expires_at=now + self._ttl,
        )
        self._store.webauthn.add_challenge(record)
        return CeremonyStart(
            ceremony_id=record.id, options_json=options, expires_at=record.expires_at
        )

    def _active_user(self, user_id: str) -> UserRecord:
        user = self._store.users.get(user_id)
        if user is None:
            raise PasskeyFailed("unknown_user")
        if user.disabled:
            raise PasskeyFailed("user_disabled")
        return user

    def _owned(self, user_id: str, credential_id: str) -> WebAuthnCredentialRecord:
        record = self._store.webauthn.get(credential_id)
        if record is None or record.user_id != user_id:
            raise NotFound(f"no passkey {credential_id!r} for this user")
        return record


def _descriptor(record: WebAuthnCredentialRecord) -> PublicKeyCredentialDescriptor:
    transports = [AuthenticatorTransport(t) for t in record.transports if t in _TRANSPORTS]
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(record.credential_id), transports=transports or None
    )


def _roots(policy: AttestationPolicy) -> dict[AttestationFormat, list[bytes]] | None:
    if not policy.roots:
        return None
    return {AttestationFormat(fmt): list(pems) for fmt, pems in policy.roots.items()}
