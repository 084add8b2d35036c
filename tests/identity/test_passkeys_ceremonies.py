"""Passkey registration and authentication ceremonies, with the attacks the issue names."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest

from menshen.identity.passkeys import (
    AttestationPolicy,
    CeremonyStart,
    PasskeyFailed,
    PasskeyService,
)
from menshen.store.api import TenantStore
from menshen.store.records import WebAuthnCredentialRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.identity.test_passkeys_authenticator import (
    AAGUID,
    ORIGIN,
    RP_ID,
    SoftPasskey,
    b64url,
)
from tests.store.factories import user

BINDING = "session-abc"
LISTED = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"
OTHER_AAGUID = bytes.fromhex("00112233445566778899aabbccddeeff")

MakeService = Callable[[AttestationPolicy], PasskeyService]


@pytest.fixture
def tenant(sqlite_store: SqlStore) -> TenantStore:
    t1 = sqlite_store.tenant("t1")
    t1.users.add(user(id="alice", username="alice"))
    t1.users.add(user(id="bob", username="bob"))
    return t1


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def make(tenant: TenantStore, clock: FixedClock) -> MakeService:
    def build(policy: AttestationPolicy) -> PasskeyService:
        return PasskeyService(
            tenant,
            clock,
            RP_ID,
            "Example Pay",
            [ORIGIN],
            policy,
            random.Random(7).randbytes,
        )

    return build


@pytest.fixture
def service(make: MakeService) -> PasskeyService:
    return make(AttestationPolicy())


_ids = iter(range(1, 10_000))


def _passkey(**changes: object) -> SoftPasskey:
    return SoftPasskey(credential_id=bytes([next(_ids) % 256]) * 20, **changes)  # type: ignore[arg-type]


def _register(
    service: PasskeyService, user_id: str, passkey: SoftPasskey, name: str = "Laptop"
) -> WebAuthnCredentialRecord:
    start = service.begin_registration(user_id, BINDING)
    return service.finish_registration(
        start.ceremony_id, BINDING, passkey.create(start.options_json), name
    )


def _fails(reason: str, call: Callable[[], object]) -> None:
    with pytest.raises(PasskeyFailed) as caught:
        call()
    assert caught.value.reason_for_audit == reason
    assert str(caught.value) == "authentication failed"


def _login_start(service: PasskeyService, user_id: str | None = "alice") -> CeremonyStart:
    return service.begin_authentication(BINDING, user_id)


def test_registration_options_require_user_verification_and_a_resident_key(
    service: PasskeyService,
) -> None:
    """Create options ask for UV and a discoverable credential and exclude existing ones."""
    record = _register(service, "alice", _passkey())
    options = json.loads(service.begin_registration("alice", BINDING).options_json)
    selection = options["authenticatorSelection"]
    assert selection["userVerification"] == "required"
    assert selection["residentKey"] == "required"
    assert options["rp"]["id"] == RP_ID
    assert [c["id"] for c in options["excludeCredentials"]] == [record.credential_id]
    assert options["attestation"] == "none"


def test_register_then_authenticate_records_the_use(
    service: PasskeyService, tenant: TenantStore, clock: FixedClock
) -> None:
    """A registered passkey logs its user in; the counter and last-used time move."""
    passkey = _passkey()
    record = _register(service, "alice", passkey, "  Work laptop ")
    assert record.name == "Work laptop"
    assert record.aaguid == LISTED
    assert record.transports == ("internal", "hybrid")
    assert record.backup_eligible
    assert record.backed_up
    clock.advance(30)
    start = _login_start(service)
    allowed = json.loads(start.options_json)["allowCredentials"]
    assert [c["id"] for c in allowed] == [record.credential_id]
    login = service.finish_authentication(
        start.ceremony_id, BINDING, passkey.get(start.options_json)
    )
    assert (login.user_id, login.credential_id, login.user_verified) == (
        "alice",
        record.credential_id,
        True,
    )
    stored = tenant.webauthn.get(record.credential_id)
    assert stored is not None
    assert stored.sign_count == 1
    assert stored.last_used_at == clock.now()


def test_passwordless_login_finds_the_user_from_a_discoverable_credential(
    service: PasskeyService,
) -> None:
    """Without a username the options allow any passkey and the assertion names the user."""
    passkey = _passkey()
    _register(service, "bob", passkey)
    start = _login_start(service, None)
    assert json.loads(start.options_json)["allowCredentials"] == []
    assert json.loads(start.options_json)["userVerification"] == "required"
    login = service.finish_authentication(
        start.ceremony_id, BINDING, passkey.get(start.options_json)
    )
    assert login.user_id == "bob"


def test_passwordless_login_without_a_user_handle_is_refused(service: PasskeyService) -> None:
    """A passwordless assertion must carry the user handle."""
    passkey = _passkey()
    _register(service, "bob", passkey)
    start = _login_start(service, None)
    response = passkey.get(start.options_json, send_user_handle=False)
    _fails(
        "user_handle_missing",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, response),
    )


def test_a_user_handle_naming_another_user_is_refused(service: PasskeyService) -> None:
    """The user handle must be the one the credential was registered for."""
    passkey = _passkey()
    _register(service, "bob", passkey)
    start = _login_start(service, None)
    response = passkey.get(start.options_json, user_handle=b"alice")
    _fails(
        "user_handle_mismatch",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, response),
    )


def test_registration_from_a_phishing_origin_is_refused(service: PasskeyService) -> None:
    """Client data from another origin fails registration."""
    start = service.begin_registration("alice", BINDING)
    response = _passkey().create(start.options_json, origin="https://login.example-test.evil")
    _fails(
        "wrong_origin",
        lambda: service.finish_registration(start.ceremony_id, BINDING, response, "x"),
    )


def test_assertion_from_a_phishing_origin_is_refused(service: PasskeyService) -> None:
    """An assertion made on another origin is refused and the counter is not moved."""
    passkey = _passkey()
    record = _register(service, "alice", passkey)
    start = _login_start(service)
    response = passkey.get(start.options_json, origin="https://evil.example")
    _fails(
        "wrong_origin", lambda: service.finish_authentication(start.ceremony_id, BINDING, response)
    )
    assert service.list_passkeys("alice")[0].sign_count == record.sign_count


def test_assertion_for_another_rp_id_is_refused(service: PasskeyService) -> None:
    """authenticatorData scoped to another RP ID is refused."""
    passkey = _passkey()
    _register(service, "alice", passkey)
    start = _login_start(service)
    response = passkey.get(start.options_json, rp_id="evil.example")
    _fails(
        "wrong_rp_id", lambda: service.finish_authentication(start.ceremony_id, BINDING, response)
    )


def test_registration_for_another_rp_id_is_refused(service: PasskeyService) -> None:
    """A credential created for another RP ID is not registered."""
    start = service.begin_registration("alice", BINDING)
    response = _passkey().create(start.options_json, rp_id="evil.example")
    _fails(
        "wrong_rp_id",
        lambda: service.finish_registration(start.ceremony_id, BINDING, response, "x"),
    )
    assert service.list_passkeys("alice") == []


def test_a_replayed_challenge_is_refused(service: PasskeyService) -> None:
    """The same ceremony cannot be finished twice, even with a fresh signature."""
    passkey = _passkey()
    _register(service, "alice", passkey)
    start = _login_start(service)
    service.finish_authentication(start.ceremony_id, BINDING, passkey.get(start.options_json))
    again = passkey.get(start.options_json)
    _fails(
        "unknown_or_used_challenge",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, again),
    )


def test_an_assertion_for_an_older_challenge_is_refused(service: PasskeyService) -> None:
    """An assertion captured for one ceremony does not finish another."""
    passkey = _passkey()
    _register(service, "alice", passkey)
    captured = passkey.get(_login_start(service).options_json)
    start = _login_start(service)
    _fails(
        "wrong_challenge",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, captured),
    )


def test_a_challenge_from_another_browser_or_too_old_is_refused(
    service: PasskeyService, clock: FixedClock
) -> None:
    """A ceremony is bound to the caller's binding and expires after its lifetime."""
    passkey = _passkey()
    _register(service, "alice", passkey)
    start = _login_start(service)
    response = passkey.get(start.options_json)
    _fails(
        "challenge_binding_mismatch",
        lambda: service.finish_authentication(start.ceremony_id, "other", response),
    )
    late = _login_start(service)
    clock.advance(5 * 60)
    late_response = passkey.get(late.options_json)
    _fails(
        "challenge_expired",
        lambda: service.finish_authentication(late.ceremony_id, BINDING, late_response),
    )


def test_an_unknown_credential_is_refused(service: PasskeyService) -> None:
    """An assertion from a credential never registered fails."""
    _register(service, "alice", _passkey())
    stranger = _passkey()
    stranger.user_handle = b"alice"
    start = _login_start(service)
    response = stranger.get(start.options_json)
    _fails(
        "unknown_credential",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, response),
    )


def test_another_users_credential_is_refused_when_a_user_was_expected(
    service: PasskeyService,
) -> None:
    """Bob's passkey does not complete a step-up started for Alice."""
    _register(service, "alice", _passkey())
    bobs = _passkey()
    _register(service, "bob", bobs)
    start = _login_start(service, "alice")
    response = bobs.get(start.options_json)
    _fails(
        "credential_of_another_user",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, response),
    )


def test_an_assertion_without_user_verification_is_refused(service: PasskeyService) -> None:
    """User presence alone is not enough: UV is required."""
    passkey = _passkey()
    _register(service, "alice", passkey)
    start = _login_start(service)
    response = passkey.get(start.options_json, user_verified=False)
    _fails(
        "user_not_verified",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, response),
    )


def test_a_cloned_authenticator_is_refused_and_the_credential_flagged(
    service: PasskeyService, tenant: TenantStore
) -> None:
    """A counter that goes backwards flags the passkey; afterwards even the original fails."""
    original = _passkey()
    record = _register(service, "alice", original)
    clone = original.clone()
    for _ in range(2):
        start = _login_start(service)
        service.finish_authentication(start.ceremony_id, BINDING, original.get(start.options_json))
    start = _login_start(service)
    response = clone.get(start.options_json)  # counter 1 <= stored 2
    _fails(
        "sign_count_regression",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, response),
    )
    flagged = tenant.webauthn.get(record.credential_id)
    assert flagged is not None
    assert flagged.cloned_at is not None
    assert json.loads(_login_start(service).options_json)["allowCredentials"] == []
    start = _login_start(service)
    genuine = original.get(start.options_json)
    _fails(
        "credential_flagged_cloned",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, genuine),
    )


def test_authenticators_without_a_counter_may_log_in_repeatedly(service: PasskeyService) -> None:
    """Counters that stay at zero (synced passkeys) are not a regression."""
    passkey = _passkey(counter_step=0)
    _register(service, "alice", passkey)
    for _ in range(3):
        start = _login_start(service)
        service.finish_authentication(start.ceremony_id, BINDING, passkey.get(start.options_json))


def test_a_disabled_user_cannot_log_in_with_a_passkey(
    service: PasskeyService, tenant: TenantStore
) -> None:
    """Disabling the account stops its passkeys at once."""
    passkey = _passkey()
    _register(service, "alice", passkey)
    alice = tenant.users.get("alice")
    assert alice is not None
    tenant.users.update(user(id="alice", username="alice", disabled=True))
    start = _login_start(service, None)
    response = passkey.get(start.options_json)
    _fails(
        "user_disabled",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, response),
    )


def test_listed_attestation_refuses_an_unlisted_aaguid(make: MakeService) -> None:
    """Under a listed policy only the listed authenticator models may register."""
    service = make(AttestationPolicy.listed([LISTED.upper()]))
    start = service.begin_registration("alice", BINDING)
    assert json.loads(start.options_json)["attestation"] == "direct"
    unlisted = _passkey(aaguid=OTHER_AAGUID).create(start.options_json, fmt="packed")
    _fails(
        "attestation_not_allowed",
        lambda: service.finish_registration(start.ceremony_id, BINDING, unlisted, "x"),
    )
    start = service.begin_registration("alice", BINDING)
    record = service.finish_registration(
        start.ceremony_id,
        BINDING,
        _passkey(aaguid=AAGUID).create(start.options_json, fmt="packed"),
        "key",
    )
    assert record.aaguid == LISTED


def test_listed_attestation_refuses_an_unattested_aaguid(make: MakeService) -> None:
    """A listed AAGUID without an attestation statement is self-asserted, so refused."""
    service = make(AttestationPolicy.listed([LISTED]))
    start = service.begin_registration("alice", BINDING)
    response = _passkey().create(start.options_json, fmt="none")
    _fails(
        "attestation_not_allowed",
        lambda: service.finish_registration(start.ceremony_id, BINDING, response, "x"),
    )


def test_a_credential_id_cannot_be_registered_twice(service: PasskeyService) -> None:
    """Registering the same credential for another user is refused."""
    passkey = _passkey()
    _register(service, "alice", passkey)
    start = service.begin_registration("bob", BINDING)
    response = passkey.create(start.options_json)
    _fails(
        "credential_not_storable",
        lambda: service.finish_registration(start.ceremony_id, BINDING, response, "x"),
    )
    assert b64url(passkey.credential_id) not in [
        c.credential_id for c in service.list_passkeys("bob")
    ]


def test_malformed_responses_fail_closed(service: PasskeyService) -> None:
    """Garbage in either ceremony is one uninformative failure."""
    start = service.begin_registration("alice", BINDING)
    _fails(
        "malformed_response",
        lambda: service.finish_registration(start.ceremony_id, BINDING, "{", "x"),
    )
    start = _login_start(service)
    _fails(
        "malformed_response",
        lambda: service.finish_authentication(start.ceremony_id, BINDING, {"id": 1}),
    )
