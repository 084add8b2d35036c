"""The code flow without a network: authorization URL, callback checks, token requests, logout."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from itertools import count
from urllib.parse import parse_qs, urlsplit

import pytest

from menshen.identity.oidc.client import OidcClient
from menshen.identity.oidc.flow import (
    logout_url,
    parse_token_response,
    refresh_request,
    start_login,
    token_request,
    validate_callback,
)
from menshen.identity.oidc.model import (
    FederationFailed,
    HttpRequest,
    HttpResponse,
    LoginStart,
    PendingLogin,
)
from menshen.testing import FixedClock
from tests.identity.oidc.kit import (
    ISSUER,
    JWKS_URI,
    OTHER_ISSUER,
    RSA_KEY,
    ScriptedFetcher,
    claims,
    config,
    jwk,
    jwks_response,
    metadata,
    sign,
)


def _start(clock: FixedClock, *, iss_param: bool = False) -> LoginStart:
    source = count(1)
    return start_login(
        config(),
        metadata(iss_param=iss_param),
        now=clock.now(),
        random_bytes=lambda n: bytes([next(source)]) * n,
    )


def _reason(call: object) -> str:
    assert callable(call)
    with pytest.raises(FederationFailed) as caught:
        call()
    return caught.value.reason


def test_authorization_url_carries_pkce_state_and_nonce() -> None:
    """The redirect has S256 PKCE over the kept verifier, and the kept state and nonce."""
    start = _start(FixedClock())
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.url).query).items()}
    digest = hashlib.sha256(start.pending.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == start.pending.state
    assert query["nonce"] == start.pending.nonce
    assert query["response_type"] == "code"
    assert len({start.pending.state, start.pending.nonce, start.pending.code_verifier}) == 3


def test_extra_params_cannot_override_protocol_params() -> None:
    """A configured extra parameter may not replace state or the PKCE challenge."""
    clock = FixedClock()
    assert "override" in _reason(
        lambda: start_login(
            config(), metadata(), now=clock.now(), random_bytes=bytes, extra_params={"state": "x"}
        )
    )


def test_callback_with_matching_state_yields_the_code() -> None:
    """A callback with the browser's own state returns the code."""
    clock = FixedClock()
    start = _start(clock)
    params = {"state": start.pending.state, "code": "abc"}
    code = validate_callback(
        start.pending, params, config=config(), metadata=metadata(), now=clock.now()
    )
    assert code == "abc"


@pytest.mark.parametrize("state", [None, "", "attacker-state"])
def test_missing_or_mismatched_state_is_refused(state: str | None) -> None:
    """Login CSRF: a callback whose state is not this browser's is refused."""
    clock = FixedClock()
    start = _start(clock)
    params = {"code": "abc"} if state is None else {"state": state, "code": "abc"}
    reason = _reason(
        lambda: validate_callback(
            start.pending, params, config=config(), metadata=metadata(), now=clock.now()
        )
    )
    assert "state" in reason


def test_callback_without_pending_login_is_refused() -> None:
    """A callback in a browser that never started a login (no cookie) is refused."""
    clock = FixedClock()
    reason = _reason(
        lambda: validate_callback(
            None, {"state": "s", "code": "c"}, config=config(), metadata=metadata(), now=clock.now()
        )
    )
    assert "no pending login" in reason


def test_mix_up_between_two_providers_is_refused() -> None:
    """A login started at provider A cannot be completed at provider B's callback."""
    clock = FixedClock()
    start = _start(clock)
    other_config = config(name="partner", issuer=OTHER_ISSUER)
    params = {"state": start.pending.state, "code": "abc"}
    reason = _reason(
        lambda: validate_callback(
            start.pending,
            params,
            config=other_config,
            metadata=metadata(OTHER_ISSUER),
            now=clock.now(),
        )
    )
    assert "another provider" in reason


def test_iss_parameter_of_another_issuer_is_refused() -> None:
    """RFC 9207: an iss response parameter naming another issuer is refused."""
    clock = FixedClock()
    start = _start(clock)
    params = {"state": start.pending.state, "code": "abc", "iss": OTHER_ISSUER}
    reason = _reason(
        lambda: validate_callback(
            start.pending, params, config=config(), metadata=metadata(), now=clock.now()
        )
    )
    assert "iss parameter" in reason


def test_missing_iss_parameter_is_refused_when_the_provider_sends_it() -> None:
    """RFC 9207 §2.4: a provider that advertises iss must include it."""
    clock = FixedClock()
    start = _start(clock, iss_param=True)
    params = {"state": start.pending.state, "code": "abc"}
    meta = metadata(iss_param=True)
    reason = _reason(
        lambda: validate_callback(
            start.pending, params, config=config(), metadata=meta, now=clock.now()
        )
    )
    assert "missing" in reason
    params["iss"] = ISSUER
    assert (
        validate_callback(start.pending, params, config=config(), metadata=meta, now=clock.now())
        == "abc"
    )


def test_stale_pending_login_is_refused() -> None:
    """A callback long after the login started is refused."""
    clock = FixedClock()
    start = _start(clock)
    clock.advance(601)
    params = {"state": start.pending.state, "code": "abc"}
    reason = _reason(
        lambda: validate_callback(
            start.pending, params, config=config(), metadata=metadata(), now=clock.now()
        )
    )
    assert "too old" in reason


def test_provider_error_is_refused_with_its_code_in_the_reason() -> None:
    """An error callback fails, naming the provider's error code for the audit log only."""
    clock = FixedClock()
    start = _start(clock)
    params = {"state": start.pending.state, "error": "access_denied"}
    reason = _reason(
        lambda: validate_callback(
            start.pending, params, config=config(), metadata=metadata(), now=clock.now()
        )
    )
    assert "access_denied" in reason


def test_pending_login_round_trips_through_the_cookie() -> None:
    """The cookie form parses back to the same pending login; junk is refused."""
    pending = _start(FixedClock()).pending
    assert PendingLogin.from_cookie(pending.to_cookie()) == pending
    for junk in ["", "{}", "[1,2]", json.dumps(["a"] * 6 + ["x"])]:
        _reason(lambda junk=junk: PendingLogin.from_cookie(junk))


def test_token_request_sends_verifier_and_basic_auth() -> None:
    """The code exchange posts the PKCE verifier and authenticates with client_secret_basic."""
    pending = _start(FixedClock()).pending
    request = token_request(config(), metadata(), "the-code", pending)
    assert request.form is not None
    assert request.form["code_verifier"] == pending.code_verifier
    assert request.form["redirect_uri"] == pending.redirect_uri
    encoded = request.headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(encoded) == b"menshen-client:s3cret%3A%2F%2B"
    refresh = refresh_request(config(), metadata(), "rt")
    assert refresh.form == {"grant_type": "refresh_token", "refresh_token": "rt"}


def test_public_client_sends_its_id_in_the_body() -> None:
    """Without a secret the client id goes in the form and no Authorization header."""
    pending = _start(FixedClock()).pending
    request = token_request(replace(config(), client_secret=None), metadata(), "c", pending)
    assert request.form is not None
    assert request.form["client_id"] == "menshen-client"
    assert "Authorization" not in request.headers


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, {"error": "invalid_grant"}, "invalid_grant"),
        (200, {"access_token": "a", "token_type": "mac", "id_token": "x"}, "Bearer"),
        (200, {"token_type": "Bearer", "id_token": "x"}, "access token"),
        (200, {"access_token": "a", "token_type": "Bearer"}, "ID token"),
        (
            200,
            {"access_token": "a", "token_type": "Bearer", "id_token": "x", "expires_in": -1},
            "expires_in",
        ),
    ],
)
def test_bad_token_responses_are_refused(status: int, body: dict[str, object], reason: str) -> None:
    """Error answers and malformed token responses fail closed."""
    response = HttpResponse(status, json.dumps(body).encode())
    assert reason in _reason(lambda: parse_token_response(response, id_token_required=True))


def test_logout_url_names_the_client_and_hint() -> None:
    """RP-initiated logout carries client_id, id_token_hint, redirect and state."""
    url = logout_url(
        config(),
        metadata(),
        id_token_hint="tok",
        post_logout_redirect_uri="https://a.test/bye",
        state="s",
    )
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "client_id": ["menshen-client"],
        "id_token_hint": ["tok"],
        "post_logout_redirect_uri": ["https://a.test/bye"],
        "state": ["s"],
    }
    assert (
        logout_url(config(), replace(metadata(), end_session_endpoint=None), id_token_hint=None)
        is None
    )


def test_client_completes_a_login_against_a_scripted_provider() -> None:
    """OidcClient wires callback, code exchange, ID token validation and group mapping."""
    clock = FixedClock()
    start_holder: list[LoginStart] = []

    def token(request: HttpRequest) -> HttpResponse:
        nonce = start_holder[0].pending.nonce
        body = {
            "access_token": "at",
            "token_type": "Bearer",
            "refresh_token": "rt",
            "id_token": sign(claims(clock, nonce=nonce)),
        }
        return HttpResponse(200, json.dumps(body).encode())

    fetcher = ScriptedFetcher(
        {f"{ISSUER}/token": token, JWKS_URI: lambda _r: jwks_response(jwk(RSA_KEY, "k1"))}
    )
    cfg = replace(
        config(), claims=replace(config().claims, group_table={"finance-ops": ("finance",)})
    )
    client = OidcClient(cfg, fetcher, clock, metadata=metadata())
    start_holder.append(client.begin())
    pending = start_holder[0].pending
    login = client.finish(pending, {"state": pending.state, "code": "c"})
    assert login.identity.subject == "user-123"
    assert login.identity.groups == ("finance",)
    assert login.tokens.refresh_token == "rt"
