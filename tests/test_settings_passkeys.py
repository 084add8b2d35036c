"""``tenants.<id>.passkeys`` in menshen.yaml: the attestation policy each tenant enforces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from menshen.app import Platform
from menshen.errors import ConfigError
from menshen.identity.passkeys import PasskeyFailed
from menshen.settings import load_settings
from tests.identity.test_passkeys_authenticator import AAGUID, ORIGIN, RP_ID, SoftPasskey

LISTED = "FBFC3007-154E-4ECC-8C0B-6E020557D7BD"


def test_a_listed_policy_is_parsed_with_normalised_aaguids(tmp_path: Path) -> None:
    """AAGUIDs are kept in lower case; a tenant without options accepts any authenticator."""
    settings = load_settings(
        _write(
            tmp_path,
            "tenant: pay\ntenants:\n  pay:\n    passkeys:\n"
            f"      attestation: listed\n      aaguids: ['{LISTED}']\n",
        ),
        environ={},
    )
    passkeys = settings.options("pay").passkeys
    assert passkeys.attestation == "listed"
    assert passkeys.aaguids == (LISTED.lower(),)
    assert settings.options("other").passkeys.attestation == "none"


def test_the_platform_builds_each_tenants_attestation_policy(tmp_path: Path) -> None:
    """Platform.passkeys enforces the tenant's listed AAGUIDs (and asks for attestation)."""
    settings = load_settings(
        _write(
            tmp_path,
            f"data_dir: {tmp_path / 'data'}\ntenant: pay\ntenants:\n  pay:\n    passkeys:\n"
            f"      attestation: listed\n      aaguids: ['{LISTED}']\n",
        ),
        environ={},
    )
    platform = Platform.open(settings)
    try:
        alice = platform.identity("pay").create_user("alice", "alice@pay.example", "Alice")
        service = platform.passkeys("pay", rp_id=RP_ID, origin=ORIGIN)
        start = service.begin_registration(alice.id, "session")
        assert json.loads(start.options_json)["attestation"] == "direct"
        unlisted = SoftPasskey(credential_id=b"\x61" * 20, aaguid=bytes(16))
        with pytest.raises(PasskeyFailed) as caught:
            service.finish_registration(
                start.ceremony_id, "session", unlisted.create(start.options_json, fmt="packed"), "x"
            )
        assert caught.value.reason_for_audit == "attestation_not_allowed"
        start = service.begin_registration(alice.id, "session")
        listed = SoftPasskey(credential_id=b"\x62" * 20, aaguid=AAGUID)
        record = service.finish_registration(
            start.ceremony_id, "session", listed.create(start.options_json, fmt="packed"), "y"
        )
        assert record.aaguid == LISTED.lower()
    finally:
        platform.close()


@pytest.mark.parametrize(
    "block",
    [
        "attestation: listed",  # listed needs at least one AAGUID
        "attestation: listed\n      aaguids: [not-a-uuid]",
        "attestation: some",
        "attestation: none\n      unknown: 1",
    ],
)
def test_bad_passkey_options_stop_start_up(tmp_path: Path, block: str) -> None:
    """A wrong attestation option is a configuration error, never a silent default."""
    with pytest.raises(ConfigError):
        load_settings(
            _write(tmp_path, f"tenants:\n  pay:\n    passkeys:\n      {block}\n"), environ={}
        )


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "menshen.yaml"
    path.write_text(text, encoding="utf-8")
    return path
