"""Attacks from ../shared/reference/iap.md, each failing closed and leaving an audit event."""

from __future__ import annotations

import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from menshen.access.returnto import ReturnSigner
from menshen.app import derive_key
from menshen.demo.firm import TENANT
from menshen.sessions.cookies import HTTP_COOKIE, new_token
from tests.e2e.harness import (
    BROWSER_UA,
    RunningStack,
    form_fields,
    raw_request,
    sign_in,
    status_of,
    wait_until,
)

pytestmark = pytest.mark.e2e
JSON = {"accept": "application/json"}


def _bob(running: RunningStack) -> str:
    with running.client() as client:
        sign_in(running, client, "bob", target="/wiki/")
        return str(client.cookies[HTTP_COOKIE])


def _raw(
    running: RunningStack,
    target: str,
    *,
    host: str = "127.0.0.1",
    extra: str = "",
    cookie: str | None = None,
) -> bytes:
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host}",
        f"User-Agent: {BROWSER_UA}",
        "Accept: application/json",
    ]
    if cookie is not None:
        lines.append(f"Cookie: {HTTP_COOKIE}={cookie}")
    if extra:
        lines.append(extra)
    lines.append("Connection: close")
    return raw_request(running.port, ("\r\n".join(lines) + "\r\n\r\n").encode())


# -- identity and forwarding headers -------------------------------------------------------
def test_client_identity_headers_never_reach_the_upstream(running: RunningStack) -> None:
    """X-Menshen-* in any case, with underscores, or repeated, are stripped and replaced."""
    token = _bob(running)
    with running.client(cookies={HTTP_COOKIE: token, "app_pref": "dark"}) as client:
        echo = client.get(
            "/wiki/echo",
            headers=[
                ("accept", "application/json"),
                ("X-Menshen-User", "admin"),
                ("x-MENSHEN-groups", "admins"),
                ("X_Menshen_User", "admin"),
                ("X-Menshen-Email", "admin@formosapay.example"),
                ("X-Menshen-Email", "other@formosapay.example"),
                ("X-Menshen-Assertion", "forged.jwt.value"),
            ],
        )
    assert echo.status_code == 200, echo.text
    headers = echo.json()["headers"]
    menshen = [
        (k.lower(), v) for k, v in headers if k.lower().replace("_", "-").startswith("x-menshen")
    ]
    names = [k for k, _ in menshen]
    assert sorted(names) == sorted(
        ["x-menshen-assertion", "x-menshen-user", "x-menshen-email", "x-menshen-groups"]
    )
    assert dict(menshen)["x-menshen-user"] == "bob"
    assert dict(menshen)["x-menshen-groups"] == "contractors"
    assert echo.json()["claims"]["preferred_username"] == "bob"
    cookie = next((v for k, v in headers if k.lower() == "cookie"), "")
    assert HTTP_COOKIE not in cookie
    assert "app_pref=dark" in cookie


def test_forwarded_headers_from_an_untrusted_peer_are_replaced(running: RunningStack) -> None:
    """X-Forwarded-For/-Host/-Proto/-Uri from a client are dropped and rewritten by the gateway."""
    token = _bob(running)
    with running.client(cookies={HTTP_COOKIE: token}) as client:
        echo = client.get(
            "/wiki/echo",
            headers={
                "accept": "application/json",
                "x-forwarded-for": "10.9.9.9",
                "x-forwarded-host": "evil.example",
                "x-forwarded-proto": "https",
                "x-forwarded-uri": "/wiki/public",
                "x-real-ip": "10.9.9.9",
            },
        )
    headers = {k.lower(): v for k, v in echo.json()["headers"]}
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-host"].startswith("127.0.0.1")
    assert headers["x-forwarded-proto"] == "http"
    assert "x-forwarded-uri" not in headers
    assert "x-real-ip" not in headers


# -- open redirects and signed parameters ---------------------------------------------------
@pytest.mark.parametrize(
    "rd",
    [
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/./../../\\evil.example",
        "https://legit@evil.example",
        "http://127.0.0.1:1/",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
        "https://evil.example/",
    ],
)
def test_open_redirect_through_the_return_url_is_refused(running: RunningStack, rd: str) -> None:
    """Even correctly signed, a return URL naming another origin is refused with 400."""
    assert running.stack.platform is not None
    signer = ReturnSigner(derive_key(running.stack.platform.master_key, "menshen return-url"))
    with running.client() as client:
        page = client.get("/.menshen/login", params={"rd": rd, "sig": signer.sign(rd)})
        assert page.status_code == 400
        assert "evil" not in page.headers.get("location", "")


def test_altered_signed_parameter_is_refused(running: RunningStack) -> None:
    """Changing rd in a sign-in link the gateway made is refused and audited."""
    with running.client() as client:
        login = client.get("/settlement/").headers["location"]
        assert client.get(login).status_code == 200
        altered = login.replace("settlement", "wiki")
        assert client.get(altered).status_code == 400
        assert client.get(login.split("&sig=")[0]).status_code == 400
    assert running.wait_audit(
        lambda r: r.kind == "attack.blocked" and r.reason == "altered sign-in link"
    )


# -- cookies, fixation, CSRF ------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    ["", "x", new_token(lambda n: b"\x01" * n), "A" * 43 + "=", "%%%%", "A" * 4096],
)
def test_tampered_session_cookies_never_pass(running: RunningStack, value: str) -> None:
    """Forged, truncated, invalid or oversized cookies get a login redirect, not the app."""
    with running.client(cookies={HTTP_COOKIE: value}) as client:
        response = client.get("/wiki/")
        assert response.status_code == 302
        assert "/.menshen/login" in response.headers["location"]


def test_truncated_real_cookie_is_refused(running: RunningStack) -> None:
    """A real token with its last character changed or removed is refused."""
    token = _bob(running)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for value in (token[:-1], flipped):
        with running.client(cookies={HTTP_COOKIE: value}) as client:
            assert client.get("/wiki/").status_code == 302


def test_session_id_changes_at_sign_in(running: RunningStack) -> None:
    """A cookie planted before sign-in (fixation) is replaced by a new one."""
    planted = new_token(lambda n: b"\x02" * n)
    with running.client() as client:
        client.cookies.set(HTTP_COOKIE, planted, domain="127.0.0.1", path="/")
        sign_in(running, client, "bob", target="/wiki/")
        assert client.cookies.get(HTTP_COOKIE, domain="127.0.0.1") != planted
        assert client.get("/wiki/").status_code == 200
    with running.client(cookies={HTTP_COOKIE: planted}) as attacker:
        assert attacker.get("/wiki/").status_code == 302


def test_login_csrf_is_refused(running: RunningStack) -> None:
    """A login POST without the form's token, with another's token, or cross-origin: 403."""
    person = running.stack.people["bob"]
    with running.client() as victim, running.client() as attacker:
        page = attacker.get("/.menshen/login")
        fields = form_fields(page.text)
        creds = {"username": "bob", "password": person.password}
        assert victim.post("/.menshen/login", data=creds).status_code == 403
        assert victim.post("/.menshen/login", data={**fields, **creds}).status_code == 403
        own = form_fields(victim.get("/.menshen/login").text)
        cross = victim.post(
            "/.menshen/login", data={**own, **creds}, headers={"origin": "https://evil.example"}
        )
        assert cross.status_code == 403
        assert HTTP_COOKIE not in victim.cookies
    assert running.wait_audit(lambda r: r.kind == "attack.blocked")


# -- paths ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "/wiki/../settlement/",
        "/wiki/%2e%2e/settlement/",
        "/wiki/%2E%2E/settlement/",
        "//settlement/",
        "/wiki//admin",
        "/wiki/x%2Fadmin",
        "/wiki/admin;x",
        "/wiki/%5Cadmin",
        "/private#/wiki/",
    ],
)
def test_ambiguous_paths_are_refused(running: RunningStack, target: str) -> None:
    """Paths an upstream might read differently from the policy are a 400, never forwarded."""
    token = _bob(running)
    response = _raw(running, target, cookie=token)
    assert status_of(response) == 400, response[:200]


def test_encoded_path_is_judged_as_decoded(running: RunningStack) -> None:
    """/wiki/%61dmin is /wiki/admin for the policy and the upstream alike: denied to bob."""
    token = _bob(running)
    assert status_of(_raw(running, "/wiki/%61dmin", cookie=token)) == 403


def test_query_string_that_looks_like_a_path_is_not_a_path(running: RunningStack) -> None:
    """/settlement/?/wiki/ is judged as /settlement/: bob is denied."""
    token = _bob(running)
    assert status_of(_raw(running, "/settlement/?/wiki/", cookie=token)) == 403


def test_upstream_gets_exactly_the_judged_path(running: RunningStack) -> None:
    """The path the upstream receives is byte-for-byte the canonical path the policy judged."""
    token = _bob(running)
    response = _raw(running, "/wiki/echo/%7euser/a%2db?q=/settlement/", cookie=token)
    assert status_of(response) == 200, response[:300]
    body = response.split(b"\r\n\r\n", 1)[1]
    assert b'"raw_path":"/wiki/echo/~user/a-b"' in body
    assert b'"query":"q=/settlement/"' in body


@pytest.mark.parametrize("host", ["LOCALHOST", "localhost.", "LocalHost."])
def test_mixed_case_and_trailing_dot_hosts_route_the_same(running: RunningStack, host: str) -> None:
    """Host names are normalised once: the same app, the same policy."""
    token = _bob(running)
    assert status_of(_raw(running, "/settlement/", host=host, cookie=token)) == 403


def test_unknown_host_is_not_served(running: RunningStack) -> None:
    """A host no app claims gets a 404, not some default app."""
    token = _bob(running)
    assert status_of(_raw(running, "/wiki/", host="evil.example", cookie=token)) == 404


# -- framing ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /wiki/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /wiki/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n"
        b"Content-Length: 5\r\n\r\nabcde",
        b"GET /wiki/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n  folded\r\n\r\n",
        b"GET /wiki/ HTTP/1.1\nHost: 127.0.0.1\n\n",
        b"GET /wiki/ HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n",
        b"POST /wiki/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    ],
)
def test_request_smuggling_shapes_get_400(running: RunningStack, request_bytes: bytes) -> None:
    """CL+TE, duplicate CL, obs-fold, bare LF, two Hosts, odd TE: 400 and the connection closes."""
    assert status_of(raw_request(running.port, request_bytes)) == 400


def test_oversized_headers_and_bodies(running: RunningStack) -> None:
    """Header sections over the limit get 431; declared bodies over the limit get 413."""
    big = b"GET /wiki/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"
    assert status_of(raw_request(running.port, big)) == 431
    token = _bob(running)
    huge = (
        f"POST /wiki/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {BROWSER_UA}\r\n"
        f"Cookie: {HTTP_COOKIE}={token}\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n"
    ).encode()
    assert status_of(raw_request(running.port, huge)) == 413
    assert running.wait_audit(lambda r: r.kind == "attack.blocked")


# -- unauthenticated probes -------------------------------------------------------------------
@pytest.mark.parametrize(
    "user_agent", ["kube-probe/1.30", "ELB-HealthChecker/2.0", "GoogleHC/1.0", "curl/8.5.0"]
)
@pytest.mark.parametrize("path", ["/settlement/", "/settlement/health", "/wiki/healthz"])
def test_health_check_agents_never_get_2xx(
    running: RunningStack, user_agent: str, path: str
) -> None:
    """No user agent and no path of a protected app answers 2xx without a session."""
    with running.client(headers={"user-agent": user_agent, "accept": "*/*"}) as client:
        assert not 200 <= client.get(path).status_code < 300


@pytest.mark.parametrize(
    "path", ["/metrics", "/.menshen/metrics", "/debug/pprof/", "/.menshen/debug", "/server-status"]
)
def test_no_metrics_or_debug_on_the_public_listener(running: RunningStack, path: str) -> None:
    """Metrics and debug endpoints are not served on the public listener."""
    with running.client(headers={"accept": "*/*"}) as client:
        assert client.get(path).status_code in (401, 404)


# -- live sessions ----------------------------------------------------------------------------
def test_revoked_session_closes_its_open_websocket(running: RunningStack) -> None:
    """Revoking a session closes a WebSocket it opened, within moments."""
    token = _bob(running)
    url = f"ws://127.0.0.1:{running.port}/wiki/ws"
    with connect(
        url,
        additional_headers={"Cookie": f"{HTTP_COOKIE}={token}", "User-Agent": BROWSER_UA},
        open_timeout=5,
    ) as socket:
        assert socket.recv(timeout=5) == "hello bob"
        socket.send("ping")
        assert socket.recv(timeout=5) == "echo: ping"
        server = running.stack.server
        assert server is not None
        session = server.sessions.lookup(TENANT, token, "Chrome/Linux").session
        assert session is not None
        running.run(server.sessions.revoke(TENANT, session.id, by="test", reason="test"))
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < 5:
            try:
                socket.recv(timeout=1)
            except TimeoutError:
                continue
            except ConnectionClosed:
                closed = True
        assert closed, "the WebSocket stayed open after its session was revoked"


def test_password_guessing_is_slowed_and_locked(running: RunningStack) -> None:
    """After repeated wrong passwords even the right one is refused for a while."""
    platform = running.stack.platform
    assert platform is not None
    identity = platform.identity(TENANT)
    identity.create_user("carol", "carol@formosapay.example", "Carol", "carol-correct-horse-1")
    identity.add_member("contractors", "carol")
    with running.client() as client:
        for _ in range(6):
            fields = form_fields(client.get("/.menshen/login").text)
            wrong = client.post(
                "/.menshen/login",
                data={**fields, "username": "carol", "password": "guess-guess-guess"},
            )
            assert wrong.status_code == 401
        fields = form_fields(client.get("/.menshen/login").text)
        right = client.post(
            "/.menshen/login",
            data={**fields, "username": "carol", "password": "carol-correct-horse-1"},
        )
        assert right.status_code == 401
        assert HTTP_COOKIE not in client.cookies
    assert running.wait_audit(lambda r: r.kind == "login.failure" and r.reason == "account_locked")


def test_revoked_cookie_gets_no_2xx_even_for_json(running: RunningStack) -> None:
    """After revocation an API call with the old cookie gets 401, not data."""
    token = _bob(running)
    server = running.stack.server
    assert server is not None
    session = server.sessions.lookup(TENANT, token, "Chrome/Linux").session
    assert session is not None
    running.run(server.sessions.revoke(TENANT, session.id, by="test", reason="test"))
    with running.client(cookies={HTTP_COOKIE: token}, headers=JSON) as client:
        assert wait_until(lambda: client.get("/wiki/echo").status_code == 401, timeout=1)


def test_password_alone_does_not_open_the_account_page(running: RunningStack) -> None:
    """Before her second factor, alice's session can neither list nor revoke her sessions."""
    person = running.stack.people["alice"]
    with running.client() as client:
        fields = form_fields(client.get("/.menshen/login").text)
        half = client.post(
            "/.menshen/login",
            data={**fields, "username": "alice", "password": person.password},
        )
        assert half.status_code == 302
        assert "/.menshen/mfa" in half.headers["location"]
        home = client.get("/.menshen/")
        assert home.status_code == 302
        assert home.headers["location"] == "/.menshen/login"
        revoke = client.post("/.menshen/sessions/revoke", data={"csrf": "x", "session": "y"})
        assert revoke.status_code == 302
