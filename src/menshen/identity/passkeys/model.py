"""Values of the passkey ceremonies, the attestation policy and the passkey naming rule.

Attestation (W3C WebAuthn Level 2 §6.5, §13.4.1): policy ``"none"`` asks for no attestation
and accepts any authenticator, recording the AAGUID it claims; policy ``"listed"`` asks for
direct attestation, refuses the ``none`` format, and accepts only the listed AAGUIDs. The
AAGUID is only as trustworthy as the statement that signs it: pass the vendors' root
certificates (``roots``) so that a certified chain, not a self attestation, vouches for it.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from menshen.errors import AuthenticationFailed, InvalidInput

__all__ = [
    "REAUTH_MAX_AGE",
    "AttestationPolicy",
    "CeremonyStart",
    "PasskeyFailed",
    "PasskeyLogin",
    "recently_verified",
    "validate_passkey_name",
]

MAX_PASSKEY_NAME = 64
REAUTH_MAX_AGE = timedelta(minutes=5)
"""How recent the last verification must be to remove a passkey or renew recovery codes."""


class PasskeyFailed(AuthenticationFailed):
    """A passkey ceremony failed. Its message says nothing; ``reason_for_audit`` is for the
    audit log only (for example ``wrong_origin``, ``unknown_credential``,
    ``sign_count_regression``, ``challenge_replayed``)."""

    def __init__(self, reason_for_audit: str) -> None:
        super().__init__()
        self.reason_for_audit = reason_for_audit


@dataclass(frozen=True, slots=True)
class AttestationPolicy:
    """One tenant's rule for which authenticators may register."""

    mode: Literal["none", "listed"] = "none"
    aaguids: frozenset[str] = frozenset()
    roots: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict)  # fmt -> PEM roots

    @classmethod
    def listed(
        cls, aaguids: Iterable[str], roots: Mapping[str, tuple[bytes, ...]] | None = None
    ) -> AttestationPolicy:
        """Accept only ``aaguids`` (UUID strings, any case), attested by a statement."""
        normal = frozenset(_normal_aaguid(value) for value in aaguids)
        if not normal:
            raise InvalidInput("a listed attestation policy needs at least one AAGUID")
        return cls(mode="listed", aaguids=normal, roots=dict(roots or {}))

    def allows(self, aaguid: str, fmt: str) -> bool:
        """Whether an authenticator of ``aaguid`` attesting in ``fmt`` may register."""
        if self.mode == "none":
            return True
        return fmt != "none" and aaguid.lower() in self.aaguids


@dataclass(frozen=True, slots=True)
class CeremonyStart:
    """A started ceremony: send ``options_json`` to the browser, keep ``ceremony_id``.

    The challenge itself stays in the store; the caller keeps only ``ceremony_id`` (in the
    session, or a short-lived cookie) and hands it back with the browser's response.
    """

    ceremony_id: str
    options_json: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PasskeyLogin:
    """A verified assertion: who authenticated, with which passkey, and when."""

    user_id: str
    credential_id: str
    at: datetime
    user_verified: bool
    backed_up: bool


def validate_passkey_name(name: str) -> str:
    """The trimmed name: 1-64 characters, no control characters; else InvalidInput."""
    text = name.strip()
    if not text or len(text) > MAX_PASSKEY_NAME:
        raise InvalidInput(f"a passkey name must be 1-{MAX_PASSKEY_NAME} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise InvalidInput("a passkey name contains control characters")
    return text


def recently_verified(
    at: datetime | None, now: datetime, max_age: timedelta = REAUTH_MAX_AGE
) -> bool:
    """Whether a verification at ``at`` is recent enough at ``now`` (a future time is not:
    a clock that jumped back must not stretch the window)."""
    return at is not None and timedelta(0) <= now - at <= max_age


def _normal_aaguid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise InvalidInput(f"{value!r} is not an AAGUID") from exc
