"""Identity provider settings (menshen.yaml ``identity_providers``) and their claim mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from menshen.access.sso import claim_mapping
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
