"""Passwordless sign-in with a discoverable passkey (W3C WebAuthn Level 2 §7.2, with an
empty ``allowCredentials``; NIST SP 800-63B §5.1.9 multi-factor cryptographic authenticator,
§5.2.2 rate limiting).

A passkey registered with user verification is something you have (the private key) unlocked
by something you know or are (the PIN or biometric), so one ceremony authenticates at the
multi-factor level. Nobody is named before the ceremony: the credential's user handle names
the user. Failures cannot be pinned on an account, so they count against the source address
only, in the same counter password failures use (``ip:<address>``); while the source is
locked, no ceremony starts and no response is checked. A passkey success leaves the
account's password-failure counter alone: password guessing does not block the passkey.
"""

from __future__ import annotations

from menshen.clock import Clock
from menshen.identity.lockout import Lockout
from menshen.identity.passkeys.model import CeremonyStart, PasskeyFailed, PasskeyLogin
from menshen.identity.passkeys.service import SIGN_IN, PasskeyService, Response

__all__ = ["PasswordlessSignIn"]


class PasswordlessSignIn:
    """Start and finish passwordless sign-in ceremonies of one tenant, throttled per source."""

    def __init__(self, passkeys: PasskeyService, lockout: Lockout, clock: Clock) -> None:
        self._passkeys = passkeys
        self._lockout = lockout
        self._clock = clock

    def begin(self, binding: str, ip: str) -> CeremonyStart:
        """Options for ``navigator.credentials.get()`` naming nobody; PasskeyFailed("ip_blocked")
        while the source is locked. ``binding`` is the browser's pre-session cookie value."""
        if self._lockout.source_locked_until(ip, self._clock.now()) is not None:
            raise PasskeyFailed("ip_blocked")
        return self._passkeys.begin_authentication(binding, None, purpose=SIGN_IN)

    def finish(self, ceremony_id: str, binding: str, response: Response, ip: str) -> PasskeyLogin:
        """The verified sign-in; PasskeyFailed (counted against ``ip``) if refused."""
        now = self._clock.now()
        if self._lockout.source_locked_until(ip, now) is not None:
            # Refused unseen and not counted, like a password attempt from a locked source.
            raise PasskeyFailed("ip_blocked")
        try:
            return self._passkeys.finish_authentication(
                ceremony_id, binding, response, purpose=SIGN_IN
            )
        except PasskeyFailed:
            self._lockout.fail(None, ip, now)
            raise
