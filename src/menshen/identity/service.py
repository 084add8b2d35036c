"""Local credentials for one tenant: users, groups, passwords, TOTP, recovery codes.

Implements the verifier side of NIST SP 800-63B: memorized secrets (§5.1.1.2, hashed with
Argon2id), OTP authenticators (§5.1.4.2 / §5.1.5.2: RFC 6238 TOTP, each code accepted
once), look-up secrets (§5.1.2.2, recovery codes) and rate limiting (§5.2.2).

The service holds no mutable state of its own — every fact lives in the store — so one
instance may serve many threads (Argon2 is slow; the gateway calls it from a pool).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from menshen.clock import Clock
from menshen.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from menshen.identity import recovery, totp
from menshen.identity.lockout import Lockout
from menshen.identity.model import (
    MAX_PASSWORD_CHARS,
    LoginFailed,
    LoginOk,
    LoginResult,
    TotpEnrolment,
    normalise_username,
    validate_display_name,
    validate_email,
    validate_name,
    validate_password,
)
from menshen.identity.passwords import PasswordHasher
from menshen.identity.throttle import DEFAULT_THROTTLE, ThrottlePolicy
from menshen.store.api import TenantStore
from menshen.store.records import GroupRecord, RecoveryCodeRecord, TotpRecord, UserRecord

__all__ = ["IdentityService"]


class IdentityService:
    """Users, groups and local credentials of one tenant."""

    def __init__(
        self,
        tenant_store: TenantStore,
        hasher: PasswordHasher,
        clock: Clock,
        seal: Callable[[bytes], bytes],
        unseal: Callable[[bytes], bytes],
        random: Callable[[int], bytes] = secrets.token_bytes,
        throttle_policy: ThrottlePolicy = DEFAULT_THROTTLE,
        totp_params: totp.TotpParams = totp.DEFAULT_PARAMS,
    ) -> None:
        self._store = tenant_store
        self._hasher = hasher
        self._clock = clock
        self._seal = seal
        self._unseal = unseal
        self._random = random
        self._lockout = Lockout(tenant_store.throttle, tenant_store.tenant_id, throttle_policy)
        self._totp = totp_params

    # -- users -------------------------------------------------------------------------

    def create_user(
        self, username: str, email: str, display_name: str, password: str | None = None
    ) -> UserRecord:
        """Add a user; ``password=None`` for one who signs in only through federation."""
        name = validate_name(username)
        address = validate_email(email)
        shown = validate_display_name(display_name, fallback=name)
        password_hash = None
        if password is not None:
            password_hash = self._hasher.hash(validate_password(password))
        if self._store.users.by_username(name) is not None:
            raise Conflict(f"user {name!r} exists already")
        now = self._clock.now()
        user = UserRecord(
            tenant_id=self._store.tenant_id,
            id=self._new_id(),
            username=name,
            email=address,
            display_name=shown,
            password_hash=password_hash,
            disabled=False,
            created_at=now,
            updated_at=now,
        )
        self._store.users.add(user)
        return user

    def set_password(self, user_id: str, password: str | None) -> UserRecord:
        """Replace the password (None removes it, leaving only federated sign-in)."""
        user = self._user(user_id)
        new_hash = None if password is None else self._hasher.hash(validate_password(password))
        return self._save(replace(user, password_hash=new_hash))

    def disable_user(self, user_id: str) -> UserRecord:
        return self._save(replace(self._user(user_id), disabled=True))

    def enable_user(self, user_id: str) -> UserRecord:
        return self._save(replace(self._user(user_id), disabled=False))

    def unlock_user(self, user_id: str) -> None:
        """Admin: clear the account's failure counter and any lock."""
        self._lockout.succeed(self._user(user_id).id)

    # -- password login ----------------------------------------------------------------

    def authenticate(self, username: str, password: str, ip: str) -> LoginResult:
        """Check a username and password. Every failure path costs one Argon2 verification."""
        now = self._clock.now()
        ip_until = self._lockout.source_locked_until(ip, now)
        if ip_until is not None:
            # No dummy hash here: a blocked source must not make us burn CPU.
            return LoginFailed("ip_blocked", ip_until)
        user = self._store.users.by_username(normalise_username(username))
        if user is None:
            self._hasher.dummy_verify()
            return LoginFailed("unknown_user", self._lockout.fail(None, ip, now))
        # The attempt counts against the account before the slow hash runs (and is
        # forgotten on success), so parallel guesses cannot outrun the lock.
        account_until = self._lockout.reserve_attempt(user.id, now)
        if account_until is not None:
            self._hasher.dummy_verify()
            self._lockout.fail(None, ip, now)
            return LoginFailed("account_locked", account_until)
        if user.password_hash is None or len(password) > MAX_PASSWORD_CHARS:
            self._hasher.dummy_verify()
            return LoginFailed(
                "no_password" if user.password_hash is None else "bad_password",
                self._failed_lock(user.id, ip, now),
            )
        check = self._hasher.verify(user.password_hash, password)
        if not check.ok:
            return LoginFailed("bad_password", self._failed_lock(user.id, ip, now))
        if user.disabled:
            # The right password for a disabled account is not a guess: count nothing.
            self._lockout.succeed(user.id)
            return LoginFailed("user_disabled")
        self._lockout.succeed(user.id)
        if check.needs_rehash:
            user = self._rehash(user, password)
        return LoginOk(
            user=user, mfa_required=self.mfa_required(user.id), mfa_enrolled=self.has_totp(user.id)
        )

    def _failed_lock(self, user_id: str, ip: str, now: datetime) -> datetime | None:
        """Count the failure against the source (the account's was counted up front)."""
        source = self._lockout.fail(None, ip, now)
        locks = [source, self._lockout.account_locked_until(user_id, now)]
        return max((until for until in locks if until is not None), default=None)

    def _rehash(self, verified: UserRecord, password: str) -> UserRecord:
        # Re-read just before writing so that a password an admin set while we were hashing
        # is not overwritten with the old one.
        current = self._store.users.get(verified.id)
        if current is None or current.password_hash != verified.password_hash:
            return current or verified
        return self._save(replace(current, password_hash=self._hasher.hash(password)))

    # -- groups ------------------------------------------------------------------------

    def mfa_required(self, user_id: str) -> bool:
        """True when any of the user's groups requires a second factor."""
        return any(group.mfa_required for group in self._store.users.groups_of(user_id))

    def create_group(
        self, name: str, description: str = "", mfa_required: bool = False
    ) -> GroupRecord:
        group_name = validate_name(name, what="group name")
        if self._store.groups.by_name(group_name) is not None:
            raise Conflict(f"group {group_name!r} exists already")
        group = GroupRecord(
            tenant_id=self._store.tenant_id,
            id=self._new_id(),
            name=group_name,
            description=description.strip(),
            mfa_required=mfa_required,
        )
        self._store.groups.add(group)
        return group

    def set_group_mfa(self, name: str, required: bool) -> GroupRecord:
        group = replace(self._group(name), mfa_required=required)
        self._store.groups.update(group)
        return group

    def add_member(self, group: str, username: str) -> None:
        self._store.groups.add_member(self._group(group).id, self._user_named(username).id)

    def remove_member(self, group: str, username: str) -> None:
        self._store.groups.remove_member(self._group(group).id, self._user_named(username).id)

    def groups_of(self, user_id: str) -> frozenset[str]:
        return frozenset(group.name for group in self._store.users.groups_of(user_id))

    # -- TOTP and recovery codes -------------------------------------------------------

    def begin_totp_enrolment(self, user_id: str, issuer: str) -> TotpEnrolment:
        """Store a new unconfirmed secret; refused while a confirmed one exists."""
        user = self._user(user_id)
        existing = self._store.credentials.get_totp(user.id)
        if existing is not None and existing.confirmed:
            # Replacing a working factor needs an admin reset, not just a password session.
            raise Conflict("a confirmed TOTP credential exists; reset MFA first")
        secret = totp.generate_secret(self._random)
        uri = totp.provisioning_uri(secret, user.username, issuer, self._totp)
        self._store.credentials.put_totp(
            TotpRecord(
                tenant_id=self._store.tenant_id,
                user_id=user.id,
                secret_sealed=self._seal(totp.decode_secret(secret)),
                confirmed=False,
                last_used_step=None,
                created_at=self._clock.now(),
            )
        )
        return TotpEnrolment(secret=secret, uri=uri, qr_svg=totp.qr_svg(uri))

    def confirm_totp_enrolment(self, user_id: str, code: str) -> list[str]:
        """Check the first code, confirm the credential, and issue ten recovery codes."""
        now = self._clock.now()
        record = self._store.credentials.get_totp(user_id)
        if record is None or record.confirmed:
            raise InvalidInput("no TOTP enrolment is pending")
        if self._lockout.account_locked_until(user_id, now) is not None:
            raise AuthenticationFailed()
        step = totp.verify(
            self._unseal(record.secret_sealed), _clean(code), now, record.last_used_step, self._totp
        )
        if step is None or not self._store.credentials.advance_totp_step(user_id, step):
            self._lockout.fail_account(user_id, now)
            raise AuthenticationFailed()
        self._store.credentials.put_totp(replace(record, confirmed=True, last_used_step=step))
        self._lockout.succeed(user_id)
        return self._issue_recovery_codes(user_id)

    def verify_totp(self, user_id: str, code: str, ip: str) -> bool:
        """True for a current code not used before; each failure counts toward a lock."""
        now = self._clock.now()
        if self._lockout.locked(user_id, ip, now):
            return False
        record = self._store.credentials.get_totp(user_id)
        step = None
        if record is not None and record.confirmed:
            key = self._unseal(record.secret_sealed)
            step = totp.verify(key, _clean(code), now, record.last_used_step, self._totp)
        # The store's compare-and-set makes a replay fail even when another process saw the
        # same code a moment ago.
        if step is None or not self._store.credentials.advance_totp_step(user_id, step):
            self._lockout.fail(user_id, ip, now)
            return False
        self._lockout.succeed(user_id)
        return True

    def verify_recovery_code(self, user_id: str, code: str, ip: str) -> bool:
        """True (once) for an unused recovery code of this user."""
        now = self._clock.now()
        if self._lockout.locked(user_id, ip, now):
            return False
        used = recovery.is_well_formed(code) and self._store.credentials.use_recovery_code(
            user_id, recovery.hash_code(code), now
        )
        if not used:
            self._lockout.fail(user_id, ip, now)
            return False
        self._lockout.succeed(user_id)
        return True

    def regenerate_recovery_codes(self, user_id: str) -> list[str]:
        """Replace every recovery code with ten fresh ones (needs a confirmed TOTP)."""
        if not self.has_totp(user_id):
            raise InvalidInput("recovery codes need a confirmed TOTP credential")
        return self._issue_recovery_codes(user_id)

    def recovery_codes_left(self, user_id: str) -> int:
        codes = self._store.credentials.recovery_codes(user_id)
        return sum(1 for code in codes if code.used_at is None)

    def reset_mfa(self, user_id: str) -> None:
        """Admin: remove the TOTP credential and every recovery code."""
        user = self._user(user_id)
        self._store.credentials.delete_totp(user.id)
        self._store.credentials.replace_recovery_codes(user.id, [])

    def has_totp(self, user_id: str) -> bool:
        record = self._store.credentials.get_totp(user_id)
        return record is not None and record.confirmed

    # -- helpers -----------------------------------------------------------------------

    def _issue_recovery_codes(self, user_id: str) -> list[str]:
        plain, hashes = recovery.generate_codes(self._random)
        records = [
            RecoveryCodeRecord(
                tenant_id=self._store.tenant_id,
                id=self._new_id(),
                user_id=user_id,
                code_hash=code_hash,
                used_at=None,
            )
            for code_hash in hashes
        ]
        self._store.credentials.replace_recovery_codes(user_id, records)
        return plain

    def _new_id(self) -> str:
        return str(uuid.UUID(bytes=self._random(16), version=4))

    def _user(self, user_id: str) -> UserRecord:
        user = self._store.users.get(user_id)
        if user is None:
            raise NotFound(f"no user with id {user_id!r}")
        return user

    def _user_named(self, username: str) -> UserRecord:
        user = self._store.users.by_username(normalise_username(username))
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    def _group(self, name: str) -> GroupRecord:
        group = self._store.groups.by_name(normalise_username(name))
        if group is None:
            raise NotFound(f"no group named {name!r}")
        return group

    def _save(self, user: UserRecord) -> UserRecord:
        changed = replace(user, updated_at=self._clock.now())
        self._store.users.update(changed)
        return changed


def _clean(code: str) -> str:
    """Drop the blanks apps and users put inside codes (``123 456``)."""
    return "".join(code.split())
