"""Passkeys: WebAuthn registration and authentication ceremonies (W3C WebAuthn Level 2)."""

from menshen.identity.passkeys.model import (
    AttestationPolicy,
    CeremonyStart,
    PasskeyFailed,
    PasskeyLogin,
    recently_verified,
)
from menshen.identity.passkeys.passwordless import PasswordlessSignIn
from menshen.identity.passkeys.service import PasskeyService

__all__ = [
    "AttestationPolicy",
    "CeremonyStart",
    "PasskeyFailed",
    "PasskeyLogin",
    "PasskeyService",
    "PasswordlessSignIn",
    "recently_verified",
]
