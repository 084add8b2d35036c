"""The token endpoint (RFC 6749 §4.4 client credentials grant): answers and errors."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.access.client_tokens import gateway_audience
from menshen.gateway.contract import Respond
from menshen.store.sql import SqlStore
from tests.access.client_world import ISSUER, ClientWorld, Made

GRANT = "grant_type=client_credentials"
REMOTE = "203.0.113.7"


@pytest.fixture
def world(sqlite_store: SqlStore) -> ClientWorld:
    return ClientWorld(sqlite_store)


@pytest.fixture
def bank(world: ClientWorld) -> Made:
    return world.make("bank-a", scopes=("reports:read", "payouts:read"))


def _body(answer: Respond) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(answer.body)
    return decoded


def _error(answer: Respond, status: int, error: str) -> dict[str, Any]:
    assert answer.status == status, answer.body
    body = _body(answer)
    assert body["error"] == error
    assert dict(answer.headers)["cache-control"] == "no-store"
    return body


def test_client_secret_basic_gets_a_bearer_token(world: ClientWorld, bank: Made) -> None:
    """HTTP Basic: a Bearer token for 300 s with every scope of the client, never cached."""
    answer = world.post_token(GRANT, basic=(bank.name, bank.secret))
    assert answer.status == 200
    body = _body(answer)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "payouts:read reports:read"
    headers = dict(answer.headers)
    assert headers["cache-control"] == "no-store"
    assert headers["pragma"] == "no-cache"
    claims = world.tokens.verify(body["access_token"], "t1", world.keyrings["t1"])
    assert not isinstance(claims, str)
    assert claims.client_name == "bank-a"
    event = world.events[-1]
    assert (event.kind, event.actor) == ("login.success", "client:bank-a")


def test_client_secret_post_and_a_narrower_scope(world: ClientWorld, bank: Made) -> None:
    """Credentials in the body work too; asking for one scope grants just that."""
    form = f"{GRANT}&client_id={bank.name}&client_secret={bank.secret}&scope=reports:read"
    answer = world.post_token(form)
    assert answer.status == 200
    assert _body(answer)["scope"] == "reports:read"


def test_the_token_says_who_for_whom(world: ClientWorld, bank: Made) -> None:
    """sub client:<name>, aud this firm's gateway, exp, jti; header typ at+jwt (RFC 9068)."""
    token = world.token_for(bank)
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "client:bank-a"
    assert claims["aud"] == gateway_audience(ISSUER, "t1")
    assert claims["exp"] - claims["iat"] == 300
    assert len(claims["jti"]) >= 16


def test_secret_of_client_a_with_client_id_b_is_invalid_client(
    world: ClientWorld, bank: Made
) -> None:
    """A's secret presented as B's is refused; the audit log says why, the caller does not."""
    world.make("bank-b")
    answer = world.post_token(GRANT, basic=("bank-b", bank.secret))
    body = _error(answer, 401, "invalid_client")
    assert dict(answer.headers)["www-authenticate"].startswith("Basic ")
    event = world.events[-1]
    assert (event.kind, event.actor, event.reason) == (
        "login.failure",
        "client:bank-b",
        "wrong client secret",
    )
    unknown = _error(world.post_token(GRANT, basic=("nobody", bank.secret)), 401, "invalid_client")
    assert unknown == body


def test_suspended_client_gets_no_token_and_no_hint(world: ClientWorld, bank: Made) -> None:
    """A suspended client is refused like a wrong secret."""
    wrong = _error(
        world.post_token(GRANT, basic=(bank.name, "mcs_" + "x" * 43)), 401, "invalid_client"
    )
    world.services["t1"].suspend("bank-a", by="soc", reason="leak")
    suspended = _error(
        world.post_token(GRANT, basic=(bank.name, bank.secret)), 401, "invalid_client"
    )
    assert suspended == wrong
    assert world.last_reason() == "client suspended"


def test_request_errors_follow_rfc_6749_section_5_2(world: ClientWorld, bank: Made) -> None:
    """Missing or unsupported grant, both auth methods, repeats, bad scope, wrong media type."""
    basic = (bank.name, bank.secret)
    _error(world.post_token("scope=x", basic=basic), 400, "invalid_request")
    _error(world.post_token("grant_type=password", basic=basic), 400, "unsupported_grant_type")
    both = f"{GRANT}&client_id={bank.name}&client_secret={bank.secret}"
    _error(world.post_token(both, basic=basic), 400, "invalid_request")
    _error(world.post_token(f"{GRANT}&{GRANT}", basic=basic), 400, "invalid_request")
    _error(world.post_token(f"{GRANT}&scope=admin", basic=basic), 400, "invalid_scope")
    _error(
        world.post_token(GRANT, basic=basic, content_type="application/json"),
        400,
        "invalid_request",
    )
    no_auth = world.post_token(GRANT)
    _error(no_auth, 401, "invalid_client")
    assert "www-authenticate" in dict(no_auth.headers)


def test_plain_http_is_refused_except_from_loopback(world: ClientWorld, bank: Made) -> None:
    """Secrets travel only over TLS (RFC 6749 §2.3.1); a local trial on 127.0.0.1 may use HTTP."""
    basic = (bank.name, bank.secret)
    _error(world.post_token(GRANT, basic=basic, ip=REMOTE), 400, "invalid_request")
    assert world.post_token(GRANT, basic=basic, ip=REMOTE, scheme="https").status == 200


def test_brute_force_of_the_token_endpoint_is_throttled(world: ClientWorld, bank: Made) -> None:
    """After 20 failures from one source even the right secret is refused (not checked),
    with Retry-After; another source is unaffected."""
    basic_wrong = (bank.name, "mcs_" + "y" * 43)
    for _ in range(20):
        _error(
            world.post_token(GRANT, basic=basic_wrong, ip=REMOTE, scheme="https"),
            401,
            "invalid_client",
        )
    locked = world.post_token(GRANT, basic=(bank.name, bank.secret), ip=REMOTE, scheme="https")
    _error(locked, 429, "invalid_client")
    assert int(dict(locked.headers)["retry-after"]) > 0
    assert world.last_reason() == "source throttled"
    other = world.post_token(
        GRANT, basic=(bank.name, bank.secret), ip="198.51.100.9", scheme="https"
    )
    assert other.status == 200
    world.clock.advance(16 * 60)
    again = world.post_token(GRANT, basic=(bank.name, bank.secret), ip=REMOTE, scheme="https")
    assert again.status == 200


def test_rotation_keeps_two_secrets_valid_for_the_grace_period(
    world: ClientWorld, bank: Made
) -> None:
    """After rotate both secrets work until the grace period ends; then only the new one."""
    new = world.services["t1"].rotate("bank-a", grace=timedelta(hours=1))
    for secret in (bank.secret, new.value):
        assert world.post_token(GRANT, basic=(bank.name, secret)).status == 200
    world.clock.advance(3601)
    _error(world.post_token(GRANT, basic=(bank.name, bank.secret)), 401, "invalid_client")
    assert world.last_reason() == "credential expired"
    assert world.post_token(GRANT, basic=(bank.name, new.value)).status == 200


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=200),
    basic=st.one_of(st.none(), st.tuples(st.text(max_size=20), st.text(max_size=60))),
)
def test_any_body_gets_an_rfc_6749_error_never_a_crash(
    world: ClientWorld, body: bytes, basic: tuple[str, str] | None
) -> None:
    """Arbitrary bodies and Basic credentials: a 400/401 JSON error, never a token or a 500."""
    answer = world.post_token(body.decode("latin-1"), basic=basic)
    assert answer.status in (400, 401, 429)
    assert _body(answer)["error"] in ("invalid_request", "invalid_client", "unsupported_grant_type")
