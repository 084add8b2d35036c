"""Claim mappings for common providers, and mapping ID token claims to a menshen identity.

Presets follow each provider's documented ID token claims: Microsoft Entra ID (v2.0
endpoint: ``oid``, ``preferred_username``, ``groups`` as object IDs), Google (``hd`` hosted
domain, no groups in the token), Okta (a ``groups`` claim from a groups scope/claim rule) and
Keycloak (``groups`` from a group-membership mapper, realm roles at ``realm_access.roles``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from menshen.identity.oidc.model import ClaimMapping, FederatedIdentity, FederationFailed

__all__ = [
    "entra_id",
    "google",
    "keycloak",
    "map_groups",
    "map_identity",
    "okta",
    "with_group_table",
]

_MAX_GROUPS = 500


def entra_id(
    tenant_id: str, group_table: Mapping[str, tuple[str, ...]]
) -> tuple[str, ClaimMapping]:
    """Issuer and claims for a single Entra ID tenant (groups are object IDs)."""
    issuer = f"https://login.microsoftonline.com/{tenant_id}/v2.0"
    mapping = ClaimMapping(
        subject="oid",
        email=("email", "preferred_username"),
        name=("name",),
        groups_path=("groups",),
        group_table=group_table,
        required_claims={"tid": tenant_id},
    )
    return issuer, mapping


def google(
    hosted_domain: str, group_table: Mapping[str, tuple[str, ...]]
) -> tuple[str, ClaimMapping]:
    """Google Workspace: only accounts of ``hosted_domain``; no group claim in the token."""
    mapping = ClaimMapping(
        email=("email",),
        groups_path=(),
        group_table=group_table,
        required_claims={"hd": hosted_domain},
        require_verified_email=True,
    )
    return "https://accounts.google.com", mapping


def okta(
    org_url: str, group_table: Mapping[str, tuple[str, ...]], authorization_server: str = "default"
) -> tuple[str, ClaimMapping]:
    """Okta with a custom authorization server ("default" unless told) and a groups claim."""
    issuer = f"{org_url.rstrip('/')}/oauth2/{authorization_server}"
    return issuer, ClaimMapping(email=("email",), groups_path=("groups",), group_table=group_table)


def keycloak(
    base_url: str,
    realm: str,
    group_table: Mapping[str, tuple[str, ...]],
    *,
    use_realm_roles: bool = False,
) -> tuple[str, ClaimMapping]:
    """Keycloak realm: ``groups`` (mapper output) or realm roles."""
    issuer = f"{base_url.rstrip('/')}/realms/{realm}"
    path = ("realm_access", "roles") if use_realm_roles else ("groups",)
    mapping = ClaimMapping(
        email=("email",), groups_path=path, group_table=group_table, require_verified_email=True
    )
    return issuer, mapping


def _walk(claims: Mapping[str, Any], path: tuple[str, ...]) -> object:
    value: object = claims
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def map_groups(
    claims: Mapping[str, Any], mapping: ClaimMapping
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(provider groups, menshen groups); unmapped provider groups give nothing."""
    if not mapping.groups_path:
        return (), ()
    raw = _walk(claims, mapping.groups_path)
    if raw is None:
        return (), ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or len(raw) > _MAX_GROUPS:
        raise FederationFailed("claims: groups claim is malformed")
    provider_groups = tuple(dict.fromkeys(g for g in raw if isinstance(g, str)))
    mapped: dict[str, None] = {}
    for group in provider_groups:
        for target in mapping.group_table.get(group, ()):
            mapped[target] = None
    return provider_groups, tuple(sorted(mapped))


def _first_text(claims: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def map_identity(
    provider: str, issuer: str, claims: Mapping[str, Any], mapping: ClaimMapping
) -> FederatedIdentity:
    """A ``FederatedIdentity`` from validated ID token claims, or ``FederationFailed``."""
    for name, expected in mapping.required_claims.items():
        if claims.get(name) != expected:
            raise FederationFailed(f"claims: {name} does not have the required value")
    subject = claims.get(mapping.subject)
    if not isinstance(subject, str) or not subject:
        raise FederationFailed(f"claims: subject claim {mapping.subject} is missing")
    email = _first_text(claims, mapping.email)
    if (
        email is not None
        and mapping.require_verified_email
        and claims.get("email_verified") is not True
    ):
        raise FederationFailed("claims: e-mail is not verified")
    provider_groups, groups = map_groups(claims, mapping)
    return FederatedIdentity(
        provider=provider,
        issuer=issuer,
        subject=subject,
        email=email,
        name=_first_text(claims, mapping.name),
        provider_groups=provider_groups,
        groups=groups,
        claims=dict(claims),
    )


def with_group_table(mapping: ClaimMapping, table: Mapping[str, tuple[str, ...]]) -> ClaimMapping:
    """The same mapping with another group table."""
    return replace(mapping, group_table=table)
