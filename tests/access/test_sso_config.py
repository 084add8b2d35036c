"""Identity provider settings (menshen.yaml ``identity_providers``) and their claim mappings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from menshen.access.sso import claim_mapping
from menshen.access.sso_clients import login_parameters, scopes_for
from menshen.errors import ConfigError
from menshen.settings import load_settings

GOOD: dict[str, Any] = {
    "name": "corp",
    "issuer": "https://login.example.com",
    "client_id": "menshen",
    "client_secret": "s3cret",
    "group_map": {"idp-finance": "finance-ops", "idp-all": ["staff", "wiki-readers"]},
    "email_domains": ["@Example.com"],
    "provisioning": "jit",
}


def _load(*providers: dict[str, Any]) -> Any:
    return load_settings(None, {}, data_dir=Path("/tmp/x"), identity_providers=list(providers))


def test_provider_settings_are_parsed() -> None:
    """Group map values become tuples; email domains are normalised."""
    (provider,) = _load(GOOD).identity_providers
    assert provider.group_map == {
        "idp-finance": ("finance-ops",),
        "idp-all": ("staff", "wiki-readers"),
    }
    assert provider.email_domains == ("example.com",)
    assert provider.provisioning == "jit"
    assert provider.label == "corp"


def test_default_provisioning_is_preprovisioned() -> None:
    """Without a choice, only existing users may sign in (fail closed)."""
    (provider,) = _load({k: v for k, v in GOOD.items() if k != "provisioning"}).identity_providers
    assert provider.provisioning == "preprovisioned"


@pytest.mark.parametrize(
    "bad",
    [
        {"issuer": "http://idp.example.com"},
        {"provisioning": "sometimes"},
        {"preset": "myspace"},
        {"email_domains": ["not a domain"]},
        {"scopes": ["email"]},
        {"name": "Bad Name"},
        {"client_id": ""},
        {"surprise": 1},
    ],
)
def test_bad_provider_settings_are_config_errors(bad: dict[str, Any]) -> None:
    """Each bad value aborts start-up with a ConfigError naming the field."""
    with pytest.raises(ConfigError) as caught:
        _load({**GOOD, **bad})
    assert "identity_providers" in str(caught.value)


def test_duplicate_provider_names_are_refused() -> None:
    """Two providers of one name would make callbacks ambiguous."""
    with pytest.raises(ConfigError):
        _load(GOOD, GOOD)


def test_claim_mapping_follows_the_groups_claim_path_and_preset() -> None:
    """A dotted groups claim walks nested objects; entra_id pins the tenant claim."""
    (generic,) = _load({**GOOD, "groups_claim": "realm_access.roles"}).identity_providers
    assert claim_mapping(generic).groups_path == ("realm_access", "roles")
    assert claim_mapping(generic).group_table["idp-all"] == ("staff", "wiki-readers")
    entra = _load(
        {**GOOD, "preset": "entra_id", "issuer": "https://login.microsoftonline.com/t-1/v2.0"}
    ).identity_providers[0]
    mapping = claim_mapping(entra)
    assert mapping.subject == "oid"
    assert mapping.required_claims == {"tid": "t-1"}


def test_refresh_tokens_are_asked_for_the_way_each_provider_wants() -> None:
    """Okta and Entra ID need offline_access; a generic provider asked for it gets
    prompt=consent (OpenID Connect Core 1.0 §11); Keycloak needs neither."""
    base = {k: v for k, v in GOOD.items() if k != "issuer"}
    okta = _load({**base, "preset": "okta", "issuer": "https://corp.okta.com/oauth2/default"})
    (okta_provider,) = okta.identity_providers
    assert scopes_for(okta_provider)[-1] == "offline_access"
    assert login_parameters(okta_provider) == {}
    (keycloak,) = _load({**GOOD, "preset": "keycloak"}).identity_providers
    assert "offline_access" not in scopes_for(keycloak)
    assert login_parameters(keycloak) == {}
    (plain,) = _load(GOOD).identity_providers
    assert login_parameters(plain) == {}
    (offline,) = _load({**GOOD, "scopes": ["openid", "email", "offline_access"]}).identity_providers
    assert scopes_for(offline) == ("openid", "email", "offline_access")
    assert login_parameters(offline) == {"prompt": "consent"}


def test_recheck_logout_and_tenant_settings_are_parsed() -> None:
    """recheck_minutes becomes the interval; logout_at_provider and tenant are kept."""
    settings = _load({**GOOD, "recheck_minutes": 2, "logout_at_provider": False, "tenant": "b"})
    (provider,) = settings.identity_providers
    assert provider.recheck_interval == timedelta(minutes=2)
    assert provider.logout_at_provider is False
    assert settings.providers_of("b") == (provider,)
    assert settings.providers_of(settings.tenant) == ()
    with pytest.raises(ConfigError):
        _load({**GOOD, "recheck_minutes": 0})
