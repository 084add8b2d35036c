"""Machine clients at the guard: tokens and API keys, policy by ``clients:``, live checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from menshen.access.client_auth import machine_credential, tunnel_id
from menshen.gateway.contract import Forward, Respond
from menshen.sessions.cookies import HTTP_COOKIE
from menshen.store.sql import SqlStore
from tests.access.client_world import ClientWorld


@pytest.fixture
def world(sqlite_store: SqlStore) -> ClientWorld:
    return ClientWorld(sqlite_store)


def _refused(verdict: object, status: int = 401) -> Respond:
    assert isinstance(verdict, Respond), verdict
    assert verdict.status == status, verdict.body
    return verdict


def test_a_client_named_by_a_rule_is_forwarded_as_a_client(world: ClientWorld) -> None:
    """bank-a's token reaches the app its rule names, with a client assertion upstream."""
    token = world.token_for(world.make("bank-a"))
    verdict = world.call("/ledger/books", token)
    assert isinstance(verdict, Forward)
    added = dict(verdict.add_headers)
    assert added["x-menshen-user"] == "bank-a"
    assert added["x-menshen-client"] == "bank-a"
    event = world.events[-1]
    assert (event.kind, event.actor, event.reason) == (
        "access.allow",
        "client:bank-a",
        "bank-a-reads",
    )


def test_the_credential_never_reaches_the_upstream(world: ClientWorld) -> None:
    """Authorization and X-Api-Key are dropped on forwarding (the app cannot replay them)."""
    made = world.make("bank-a")
    key = world.api_key("bank-a")
    for verdict in (
        world.call("/ledger/books", world.token_for(made)),
        world.call("/ledger/books", key, header="x-api-key"),
    ):
        assert isinstance(verdict, Forward)
        assert verdict.drop_headers == {"authorization", "x-api-key"}
        assert "authorization" not in dict(verdict.add_headers)


def test_rules_for_people_never_allow_a_client(world: ClientWorld) -> None:
    """An any-identity allow rule is for people: a client it does not name is denied."""
    token = world.token_for(world.make("bank-c"))
    verdict = _refused(world.call("/ledger/public/x", token), 403)
    assert b"Forbidden" in verdict.body
    assert world.events[-1].kind == "access.deny"


def test_a_client_not_named_is_denied_and_deny_rules_apply(world: ClientWorld) -> None:
    """bank-c has no rule; bank-a meets the deny rule for payouts and its GET-only limit."""
    other = world.token_for(world.make("bank-c"))
    _refused(world.call("/ledger/books", other), 403)
    token = world.token_for(world.make("bank-a"))
    _refused(world.call("/ledger/payouts", token), 403)
    _refused(world.call("/ledger/books", token, method="POST"), 403)


def test_scopes_of_the_token_are_what_the_policy_sees(world: ClientWorld) -> None:
    """A rule with scopes allows only a token that carries them all."""
    made = world.make("bank-b", scopes=("reports:read", "payouts:read"))
    narrow = world.token_for(made, scope="payouts:read")
    wide = world.token_for(made, scope="reports:read")
    _refused(world.call("/ledger/reports/q3", narrow), 403)
    assert isinstance(world.call("/ledger/reports/q3", wide), Forward)


def test_stolen_token_is_refused_on_the_next_request_after_suspension(world: ClientWorld) -> None:
    """Suspension reaches a token minted before it: refused once the snapshot is swapped."""
    token = world.token_for(world.make("bank-a"))
    assert isinstance(world.call("/ledger/books", token), Forward)
    world.services["t1"].suspend("bank-a", by="soc", reason="token leaked")
    world.refresh()
    _refused(world.call("/ledger/books", token))
    assert world.last_reason() == "machine credential refused: client suspended"


def test_resuming_does_not_revive_tokens_minted_before_the_suspension(world: ClientWorld) -> None:
    """After resume the old token stays refused; a fresh token works."""
    made = world.make("bank-a")
    token = world.token_for(made)
    world.services["t1"].suspend("bank-a", by="soc", reason="investigating")
    world.clock.advance(1)
    world.services["t1"].resume("bank-a")
    world.refresh()
    _refused(world.call("/ledger/books", token))
    assert "before the client's suspension" in world.last_reason()
    world.clock.advance(1)
    assert isinstance(world.call("/ledger/books", world.token_for(made)), Forward)


def test_deleted_client_and_revoked_secret_refuse_their_tokens(world: ClientWorld) -> None:
    """A token dies with its credential and with its client."""
    made = world.make("bank-a")
    token = world.token_for(made)
    world.services["t1"].revoke_credential("bank-a", made.credential_id)
    world.refresh()
    _refused(world.call("/ledger/books", token))
    assert world.last_reason() == "machine credential refused: credential revoked"
    other = world.make("bank-c")
    other_token = world.token_for(other)
    world.services["t1"].delete("bank-c")
    world.refresh()
    _refused(world.call("/ledger/books", other_token))
    assert world.last_reason() == "machine credential refused: unknown client"


def test_expired_api_key_is_refused(world: ClientWorld) -> None:
    """An API key past its own expiry is refused though the client is fine."""
    world.make("bank-a")
    issued = world.services["t1"].rotate("bank-a", kind="api_key", lifetime=timedelta(hours=1))
    world.refresh()
    assert isinstance(world.call("/ledger/books", issued.value, header="x-api-key"), Forward)
    world.clock.advance(3601)
    _refused(world.call("/ledger/books", issued.value, header="x-api-key"))
    assert world.last_reason() == "machine credential refused: credential expired"


def test_api_key_as_bearer_works_and_a_wrong_secret_is_refused(world: ClientWorld) -> None:
    """``Authorization: Bearer mk_…`` is an API key; a changed secret part fails."""
    world.make("bank-a")
    key = world.api_key("bank-a")
    assert isinstance(world.call("/ledger/books", key), Forward)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    _refused(world.call("/ledger/books", forged))
    assert world.last_reason() == "machine credential refused: wrong API key secret"
    assert world.events[-1].actor == "client:bank-a"


def test_expired_client_is_refused(world: ClientWorld) -> None:
    """A client past its own expiry is refused with every credential."""
    made = world.make("bank-a", expires_at=world.clock.now() + timedelta(minutes=2))
    token = world.token_for(made)
    world.clock.advance(121)
    _refused(world.call("/ledger/books", token))
    assert world.last_reason() == "machine credential refused: client expired"


def test_token_of_tenant_a_is_refused_at_tenant_b(world: ClientWorld) -> None:
    """The same client name in two firms: a token from one is refused at the other's host."""
    made_one = world.make("bank-a", "t1")
    world.make("bank-a", "t2")
    token = world.token_for(made_one, "t1")
    _refused(world.call("/ledger/books", token, tenant_id="t2"))
    assert world.last_reason() == (
        "machine credential refused: signed by a key this tenant does not publish"
    )


def test_api_key_of_tenant_a_is_refused_at_tenant_b(world: ClientWorld) -> None:
    """API key ids are looked up in the host's firm only."""
    world.make("bank-a", "t1")
    world.make("bank-a", "t2")
    key = world.api_key("bank-a", "t1")
    _refused(world.call("/ledger/books", key, tenant_id="t2"))
    assert world.last_reason() == "machine credential refused: unknown API key"


def test_a_session_cookie_makes_it_a_persons_request(world: ClientWorld) -> None:
    """With the gateway's session cookie, a bearer token is the app's business, not ours."""
    head = world.head(
        "/ledger/books",
        [("cookie", f"{HTTP_COOKIE}=abc"), ("authorization", "Bearer mk_x")],
    )
    assert machine_credential(head) is None
    assert machine_credential(world.head("/", [("x-api-key", " mk_1 ")])) == "mk_1"
    assert machine_credential(world.head("/", [("authorization", "Basic Zm9v")])) is None


def test_refusals_are_generic_to_the_caller(world: ClientWorld) -> None:
    """Every refusal has the same body and a Bearer challenge (RFC 6750 §3)."""
    world.make("bank-a")
    bodies = set()
    for credential in ("garbage", "mk_000000000000_" + "A" * 43, "a.b.c"):
        verdict = _refused(world.call("/ledger/books", credential))
        assert dict(verdict.headers)["www-authenticate"].startswith("Bearer ")
        bodies.add(verdict.body)
    assert len(bodies) == 1


def test_last_use_is_remembered_for_the_store(world: ClientWorld) -> None:
    """Allowed requests note the client's last use, handed out once for touch_many."""
    world.make("bank-a")
    key = world.api_key("bank-a")
    world.call("/ledger/books", key)
    used = world.gate.take_last_used()
    assert used == {"t1": {"bank-a": world.clock.now()}}
    assert world.gate.take_last_used() == {}
    world.store.tenant("t1").machine_clients.touch_many(used["t1"])
    record = world.store.tenant("t1").machine_clients.get("bank-a")
    assert record is not None
    assert record.last_used_at == world.clock.now()


def test_a_suspended_clients_websockets_are_named_for_closing(world: ClientWorld) -> None:
    """A client's WebSocket is bound to its credential; the refresh that refuses it says so."""
    made = world.make("bank-a")
    world.make("bank-c")
    token = world.token_for(made)
    head = world.head(
        "/ledger/stream", [("authorization", f"Bearer {token}"), ("upgrade", "websocket")]
    )
    verdict = world.guard.check(replace(head, is_websocket=True))
    assert isinstance(verdict, Forward)
    assert verdict.session_id == tunnel_id("t1", "bank-a", made.credential_id)
    assert world.call("/ledger/books", token).session_id is None  # type: ignore[union-attr]
    world.services["t1"].suspend("bank-a", by="soc", reason="leak")
    assert world.refresh() == [verdict.session_id]
    assert world.refresh() == []
