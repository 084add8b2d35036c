"""The relying party's checks around py_webauthn (W3C WebAuthn Level 2 §7.1 and §7.2).

py_webauthn verifies the cryptography and the client data (type, challenge, origin, RP ID
hash, user presence and verification, signature). What it cannot know is kept here: that a
ceremony's challenge was issued by us, to this browser, for this purpose, not too long ago,
and is used once (§13.4.3); and the audit reason for each way a response can be refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import AuthenticationCredential, RegistrationCredential

from menshen.identity.passkeys.model import PasskeyFailed
from menshen.store.api import WebAuthnCredentialRepository
from menshen.store.records import WebAuthnChallengeRecord

# Fragments of py_webauthn's messages -> audit reason; first match wins.
_REASONS = (
    ("origin", "wrong_origin"),
    ("RP ID", "wrong_rp_id"),
    ("challenge", "wrong_challenge"),
    ("User verification", "user_not_verified"),
    ("User presence", "user_not_present"),
    ("not present", "user_not_present"),
    ("signature", "bad_signature"),
    ("type", "wrong_ceremony_type"),
)


def b64url(data: bytes) -> str:
    """Base64url without padding (the WebAuthn JSON encoding of bytes)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def binding_hash(binding: str) -> str:
    """What the store keeps of the caller's binding (a session or cookie id)."""
    if not binding:
        raise PasskeyFailed("missing_binding")
    return hashlib.sha256(binding.encode("utf-8")).hexdigest()


def take_challenge(
    repository: WebAuthnCredentialRepository,
    ceremony_id: str,
    *,
    purpose: str,
    binding: str,
    now: datetime,
) -> WebAuthnChallengeRecord:
    """Consume the pending ceremony; PasskeyFailed unless it is ours, unexpired and unused.

    The row is deleted before any check, so a failed attempt also burns the challenge.
    """
    expected_binding = binding_hash(binding)
    challenge = repository.take_challenge(ceremony_id) if ceremony_id else None
    if challenge is None:
        raise PasskeyFailed("unknown_or_used_challenge")
    if challenge.purpose != purpose:
        raise PasskeyFailed("wrong_ceremony")
    if not hmac.compare_digest(challenge.binding_hash, expected_binding):
        raise PasskeyFailed("challenge_binding_mismatch")
    if now >= challenge.expires_at:
        raise PasskeyFailed("challenge_expired")
    return challenge


def parse_registration(response: str | dict[str, Any]) -> RegistrationCredential:
    """The browser's ``PublicKeyCredential`` (JSON) of a create() call."""
    try:
        return parse_registration_credential_json(response)
    except Exception as exc:  # any malformed input fails closed, whatever the parser raises
        raise PasskeyFailed("malformed_response") from exc


def parse_assertion(response: str | dict[str, Any]) -> AuthenticationCredential:
    """The browser's ``PublicKeyCredential`` (JSON) of a get() call."""
    try:
        credential = parse_authentication_credential_json(response)
    except Exception as exc:
        raise PasskeyFailed("malformed_response") from exc
    if b64url(credential.raw_id) != credential.id:
        raise PasskeyFailed("malformed_response")
    return credential


def reason_of(exc: Exception) -> str:
    """The audit reason for a refusal by py_webauthn."""
    message = str(exc)
    for fragment, reason in _REASONS:
        if fragment in message:
            return reason
    return "invalid_response"


def sign_count_regressed(stored: int, received: int) -> bool:
    """§6.1.1: a counter that is in use (either side non-zero) must grow on every use."""
    return (stored > 0 or received > 0) and received <= stored
