"""From a provider's identity to a menshen user: find or create, and sync mapped groups.

Just-in-time creation or "pre-provisioned only" per provider; groups named in the provider's
``group_map`` are managed by the provider (added and removed to match the ID token's group
claim, OpenID Connect Core 1.0 §5.1 and the provider's own claim), every other group of the
user is left alone. Blocking: callers run these in a worker thread.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from menshen.errors import Conflict, InvalidInput, NotFound
from menshen.identity.oidc.model import FederatedIdentity, FederationFailed
from menshen.identity.service import IdentityService
from menshen.settings import IdentityProviderSettings
from menshen.store.records import UserRecord

__all__ = ["MFA_AMR", "Accepted", "accept", "sync_groups"]

# RFC 8176 authentication method references that mean a second or stronger factor.
MFA_AMR = frozenset({"mfa", "otp", "hwk", "sc"})


@dataclass(frozen=True, slots=True)
class Accepted:
    """A federated user mapped to a menshen user."""

    user: UserRecord
    strong: bool


def accept(
    service: IdentityService,
    users: Sequence[UserRecord],
    provider: IdentityProviderSettings,
    identity: FederatedIdentity,
) -> Accepted:
    """Find or create the user and sync mapped groups, or ``FederationFailed``."""
    if identity.email is None:
        raise FederationFailed("mapping: no email claim")
    email = identity.email.strip().lower()
    domain = email.rpartition("@")[2]
    if provider.email_domains and domain not in provider.email_domains:
        raise FederationFailed(f"mapping: email domain {domain!r} not allowed")
    user = _by_email(users, email)
    if user is None:
        if provider.provisioning != "jit":
            raise FederationFailed("mapping: no such user (pre-provisioned only)")
        user = _create(service, email, identity.name or "")
    if user.disabled:
        raise FederationFailed("mapping: user disabled")
    sync_groups(service, user, provider, identity)
    amr = identity.claims.get("amr")
    strong = isinstance(amr, list) and any(m in MFA_AMR for m in amr if isinstance(m, str))
    return Accepted(user, strong)


def sync_groups(
    service: IdentityService,
    user: UserRecord,
    provider: IdentityProviderSettings,
    identity: FederatedIdentity,
) -> bool:
    """Make the provider-managed groups match ``identity``; whether anything changed."""
    managed = {g for targets in provider.group_map.values() for g in targets}
    current = service.groups_of(user.id)
    changed = False
    for group in sorted(managed):
        try:
            if group in identity.groups and group not in current:
                service.add_member(group, user.username)
                changed = True
            elif group not in identity.groups and group in current:
                service.remove_member(group, user.username)
                changed = True
        except NotFound:
            continue  # a mapped group the tenant has not created grants nothing
    return changed


def _by_email(users: Sequence[UserRecord], email: str) -> UserRecord | None:
    matches = [u for u in users if u.email.lower() == email]
    if len(matches) > 1:
        raise FederationFailed("mapping: several users have this email")
    return matches[0] if matches else None


def _create(service: IdentityService, email: str, name: str) -> UserRecord:
    local = "".join(c if c.isalnum() or c in "._-" else "-" for c in email.partition("@")[0])
    base = local.lower().strip("._-")[:56] or "user"
    for attempt in range(20):
        username = base if attempt == 0 else f"{base}-{secrets.token_hex(3)}"
        try:
            return service.create_user(username, email, name, password=None)
        except Conflict:
            continue
        except InvalidInput as exc:
            raise FederationFailed(f"mapping: cannot create user: {exc}") from None
    raise FederationFailed("mapping: no free username")
