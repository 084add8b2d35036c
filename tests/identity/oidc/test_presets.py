"""Provider presets and mapping claims to menshen groups (default deny for unmapped groups)."""

from __future__ import annotations

import pytest

from menshen.identity.oidc.model import ClaimMapping, FederationFailed
from menshen.identity.oidc.presets import entra_id, google, keycloak, map_identity, okta


def test_unmapped_groups_are_dropped() -> None:
    """Only groups in the table become menshen groups."""
    mapping = ClaimMapping(group_table={"finance-ops": ("finance", "staff"), "staff": ("staff",)})
    claims = {"sub": "u", "groups": ["finance-ops", "staff", "domain-admins"]}
    identity = map_identity("corp", "https://i", claims, mapping)
    assert identity.groups == ("finance", "staff")
    assert identity.provider_groups == ("finance-ops", "staff", "domain-admins")


def test_keycloak_realm_roles_are_read_from_the_nested_path() -> None:
    """Keycloak's realm_access.roles is reached through the configured path."""
    issuer, mapping = keycloak(
        "https://kc.test/", "firm", {"ops": ("operators",)}, use_realm_roles=True
    )
    assert issuer == "https://kc.test/realms/firm"
    claims = {"sub": "u", "realm_access": {"roles": ["ops", "offline_access"]}}
    assert map_identity("kc", issuer, claims, mapping).groups == ("operators",)


def test_google_requires_the_hosted_domain_and_verified_email() -> None:
    """A Google account outside the Workspace domain, or unverified, is refused."""
    issuer, mapping = google("firm.test", {})
    good = {"sub": "1", "hd": "firm.test", "email": "a@firm.test", "email_verified": True}
    assert map_identity("google", issuer, good, mapping).email == "a@firm.test"
    for bad in [
        {**good, "hd": "gmail.com"},
        {k: v for k, v in good.items() if k != "hd"},
        {**good, "email_verified": False},
    ]:
        with pytest.raises(FederationFailed):
            map_identity("google", issuer, bad, mapping)


def test_entra_id_uses_oid_tenant_and_upn_fallback() -> None:
    """Entra ID: subject is oid, the tenant is pinned, preferred_username stands in for e-mail."""
    issuer, mapping = entra_id("tid-1", {"0000-guid": ("finance",)})
    assert issuer == "https://login.microsoftonline.com/tid-1/v2.0"
    claims = {
        "sub": "pairwise",
        "oid": "obj-1",
        "tid": "tid-1",
        "preferred_username": "a@firm.test",
        "groups": ["0000-guid"],
    }
    identity = map_identity("entra", issuer, claims, mapping)
    assert (identity.subject, identity.email, identity.groups) == (
        "obj-1",
        "a@firm.test",
        ("finance",),
    )
    with pytest.raises(FederationFailed):
        map_identity("entra", issuer, {**claims, "tid": "other"}, mapping)


def test_okta_issuer_names_the_authorization_server() -> None:
    """Okta's issuer is the custom authorization server URL."""
    issuer, mapping = okta("https://firm.okta.com/", {})
    assert issuer == "https://firm.okta.com/oauth2/default"
    assert mapping.groups_path == ("groups",)


def test_malformed_groups_claim_is_refused() -> None:
    """A groups claim that is not a list of names fails closed."""
    with pytest.raises(FederationFailed):
        map_identity("x", "https://i", {"sub": "u", "groups": {"a": 1}}, ClaimMapping())
