"""LiveSources on a real store: what each source reads back, in the collectors' terms."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from menshen.compliance.live import LiveSources
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent
from menshen.events.writer import AuditWriter
from menshen.settings import Listener, Settings
from menshen.store.clients import ClientCredentialRecord, MachineClientRecord
from menshen.store.monitor_response import IncidentRecord
from menshen.store.records import DeviceRecord, WebAuthnCredentialRecord
from menshen.store.sql import SqlStore, SqlTenantStore
from menshen.testing import FixedClock
from tests.store.factories import T0, session, totp, user


@pytest.fixture
def sources(tenant_store: SqlTenantStore, tmp_path: Path) -> LiveSources:
    settings = Settings(
        data_dir=tmp_path,
        database_url=None,
        tenant="t1",
        listeners=(Listener("0.0.0.0", 443, Path("c.pem"), Path("k.pem")), Listener("::1", 80)),
    )
    return LiveSources(tenant_store, settings)


def test_users_carry_their_factors_groups_and_last_sign_in(
    tenant_store: SqlTenantStore, sources: LiveSources
) -> None:
    """TOTP, a passkey (a cloned one does not count), SSO with MFA, and no password at all."""
    tenant_store.users.add(user(id="u1", username="alice"))
    tenant_store.users.add(user(id="u2", username="bob", password_hash=None))
    tenant_store.users.add(user(id="u3", username="carol", password_hash="plain:secret"))
    tenant_store.credentials.put_totp(totp(user_id="u1"))
    passkey = WebAuthnCredentialRecord(
        "t1", "cred1", "u1", b"key", 0, ("usb",), "aaguid", "key", T0, None, False, False
    )
    tenant_store.webauthn.add(passkey)
    tenant_store.webauthn.add(replace(passkey, credential_id="cred3", user_id="u3", cloned_at=T0))
    later = T0 + timedelta(days=3)
    tenant_store.sessions.add(session(id="s2", user_id="u2", mfa_method="idp", created_at=later))
    found = {u.username: u for u in sources.users()}
    assert found["alice"].mfa == {"totp", "passkey"}
    assert found["bob"].mfa == {"sso"}
    assert found["bob"].last_sign_in == later
    assert found["bob"].hashing == "none"
    assert found["carol"].mfa == frozenset()
    assert found["carol"].hashing == "other"
    assert found["alice"].last_sign_in is None


def test_admin_actions_carry_the_mfa_of_their_session(
    store: SqlStore, tenant_store: SqlTenantStore, sources: LiveSources
) -> None:
    """A console change from a password-only session is without MFA; CLI changes say cli."""
    tenant_store.users.add(user(id="u1"))
    tenant_store.sessions.add(session(id="weak", auth_level="password", mfa_method=None))
    tenant_store.sessions.add(session(id="strong"))
    events = [
        AuditEvent("t1", "admin.change", "success", T0, actor="u1", session_id="weak"),
        AuditEvent("t1", "admin.change", "success", T0, actor="u1", session_id="strong"),
        AuditEvent("t1", "admin.change", "success", T0, actor="cli:root"),
        AuditEvent("t1", "access.allow", "allow", T0, actor="u1", session_id="strong"),
    ]
    AuditWriter(store, EventBus(), FixedClock(T0)).write_now(events)
    actions = sources.admin_actions(T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert [(a.via, a.mfa) for a in actions] == [
        ("session", False),
        ("session", True),
        ("cli", None),
    ]
    chain = sources.audit_chain()
    assert chain.ok
    assert chain.rows == 4
    logged = sources.access_log(T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert logged.sessions_logged == {"strong"}
    assert logged.decisions == 1


def test_devices_incidents_clients_and_listeners_read_back(
    tenant_store: SqlTenantStore, sources: LiveSources
) -> None:
    """Device trust after posture rules, incident times, credentials, listener TLS."""
    tenant_store.users.add(user(id="u1", username="alice"))
    device = DeviceRecord(
        "t1", "d1", "u1", "laptop", "thumb", {"kty": "EC"}, None, None, "managed", "admin", T0,
        {"diskEncrypted": True, "screenLock": True}, T0, "r1", T0, T0,
    )  # fmt: skip
    tenant_store.devices.add(device)
    tenant_store.incidents.put(
        IncidentRecord("t1", "i1", "user:alice", None, "spray", 3, "open",
                       T0, T0 + timedelta(minutes=4), T0 + timedelta(minutes=4))
    )  # fmt: skip
    tenant_store.machine_clients.add(
        MachineClientRecord("t1", "bank-a", "", "ops", "read", T0, "admin")
    )
    tenant_store.machine_clients.add_credential(
        ClientCredentialRecord("t1", "c1", "bank-a", "secret", "hash", T0)
    )
    devices = sources.devices(T0 + timedelta(hours=1))
    assert [(d.owner, d.trust) for d in devices] == [("alice", "managed")]
    assert sources.devices(T0 + timedelta(days=2))[0].trust == "registered"
    incidents = sources.incidents(T0, T0 + timedelta(days=1))
    assert [(i.id, i.detected_at - i.first_event_at) for i in incidents] == [
        ("i1", timedelta(minutes=4))
    ]
    clients = sources.machine_clients()
    assert clients is not None
    assert [(c.name, [x.expires_at for x in c.credentials]) for c in clients] == [
        ("bank-a", [None])
    ]
    assert [(item.tls, item.loopback) for item in sources.listeners()] == [
        (True, False),
        (False, True),
    ]


def test_a_failing_source_fails_the_same_way_every_time(
    tenant_store: SqlTenantStore, sources: LiveSources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store read once: a second ask gives the same error, not a second read."""
    calls = []

    def broken() -> list[object]:
        calls.append(1)
        raise RuntimeError("store down")

    monkeypatch.setattr(tenant_store.users, "list", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="store down"):
            sources.users()
    assert len(calls) == 1
