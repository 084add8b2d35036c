"""Device trust end to end over the demo's TLS listener, with and without a device certificate.

The wiki allows any device; settlement (in this module) needs ``device: {trust: managed}``.
An unknown device reaches the wiki only; a device enrolled with the agent, approved by an
admin and reporting good posture reaches both; once revoked, its session is refused. Then
the attacks: forged posture reports, another user's certificate, spent or expired codes,
and a certificate from another tenant's CA.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from menshen.access.device_trust import WRONG_USER
from menshen.agent.credentials import certificate_request, key_pem, new_device_key
from menshen.agent.report import Posture, report_body, sign_report
from menshen.app import Platform
from menshen.cli.main import app as cli
from menshen.demo.firm import TENANT
from menshen.identity.devices.codes import code_hash, new_code, normalise_code
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.sessions.cookies import HTTPS_COOKIE
from menshen.sessions.useragent import user_agent_family
from menshen.store.records import DeviceEnrolmentRecord, TenantRecord, UserRecord
from tests.e2e.harness import BROWSER_UA, HTML, RunningStack, form_fields, sign_in, wait_until

pytestmark = pytest.mark.e2e
JSON = {"accept": "application/json"}
CODE = re.compile(r'id="enrolment-code"[^>]*>([^<]+)<')
MANAGED_SETTLEMENT = """\
apiVersion: menshen.dev/v1
kind: Policy
metadata: {name: settlement-access}
spec:
  app: settlement
  rules:
    - name: contractors-never
      effect: deny
      groups: [contractors]
    - name: finance-ops-on-managed-devices
      groups: [finance-ops, admins]
      mfa: {required: true, maxAge: 12h}
      when: {device: {trust: managed}}
"""
GOOD = Posture("linux", "debian 12", disk_encrypted=True, screen_lock=True, firewall=True)
runner = CliRunner()


@dataclass(frozen=True, slots=True)
class Enrolled:
    device_id: str
    key: ec.EllipticCurvePrivateKey
    cert: Path
    key_file: Path


@pytest.fixture(scope="module")
def stack(running: RunningStack) -> RunningStack:
    """The demo stack with settlement restricted to managed devices."""
    platform = _platform(running)
    manifests = parse_manifests(MANAGED_SETTLEMENT, "managed.yaml", known_apps=None)
    apply_manifests(platform.store.tenant(TENANT), manifests, clock=platform.clock)
    assert running.stack.server is not None
    running.run(running.stack.server.reload_directory())
    return running


@pytest.fixture
def browser(stack: RunningStack) -> Iterator[httpx.Client]:
    with _client(stack) as client:
        yield client


def _platform(running: RunningStack) -> Platform:
    assert running.stack.platform is not None
    return running.stack.platform


def _server_cert(running: RunningStack) -> Path:
    return running.stack.data_dir / "tls" / "cert.pem"


def _https(running: RunningStack) -> str:
    url = running.stack.https_url
    assert url is not None
    return url


def _client(
    running: RunningStack, device: tuple[Path, Path] | None = None, cookies: Any = None
) -> httpx.Client:
    """An HTTPS client like a browser; with ``device`` it presents that certificate."""
    context = ssl.create_default_context(cafile=str(_server_cert(running)))
    if device is not None:
        context.load_cert_chain(str(device[0]), str(device[1]))
    return httpx.Client(
        base_url=_https(running),
        verify=context,
        headers={"user-agent": BROWSER_UA, "accept": HTML},
        cookies=cookies,
        follow_redirects=False,
    )


def _menshen(running: RunningStack, *args: str) -> str:
    result = runner.invoke(
        cli, ["--data-dir", str(running.stack.data_dir), "--tenant", TENANT, *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _user_id(running: RunningStack, username: str) -> str:
    user = _platform(running).store.tenant(TENANT).users.by_username(username)
    assert user is not None
    return user.id


def _enrol_over_http(running: RunningStack, tmp: Path, username: str, name: str) -> Enrolled:
    """A device for ``username`` enrolled through the agent endpoint with a fresh code."""
    issued = _platform(running).devices(TENANT).issue_code(_user_id(running, username))
    key = new_device_key()
    answer = _post_json(
        running,
        "/.menshen/devices/enrol",
        {"code": issued.code, "name": name, "csr": certificate_request(key, name)},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    cert, key_file = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert.write_text(body["certificate"], encoding="ascii")
    key_file.write_bytes(key_pem(key))
    return Enrolled(body["device_id"], key, cert, key_file)


def _post_json(running: RunningStack, path: str, payload: dict[str, str]) -> httpx.Response:
    with _client(running) as client:
        return client.post(path, json=payload, headers=JSON)


def _session_id(running: RunningStack, client: httpx.Client) -> str:
    server = running.stack.server
    assert server is not None
    token = client.cookies[HTTPS_COOKIE]
    found = server.sessions.lookup(TENANT, token, user_agent_family(BROWSER_UA))
    assert found.session is not None, found.problem
    return found.session.id


def _bound_device(running: RunningStack, session_id: str) -> str | None:
    server = running.stack.server
    assert server is not None
    record = server.sessions.get(session_id)
    assert record is not None
    return record.device_id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# -- the flow the issue asks for ---------------------------------------------------------------
def test_unknown_then_managed_then_revoked_device(stack: RunningStack, tmp_path: Path) -> None:
    """Unknown: wiki only. Enrolled, approved, reporting: both. Revoked: the session ends."""
    with _client(stack) as laptop:
        assert sign_in(stack, laptop, "alice", target="/wiki/").status_code == 302
        assert laptop.get("/wiki/").status_code == 200
        denied = laptop.get("/settlement/batches", headers=JSON)
        assert denied.status_code == 403
        assert "managed (or better) device" in " ".join(denied.json()["considered"])
        page = laptop.get("/.menshen/devices")
        assert page.status_code == 200
        assert "No devices enrolled" in page.text
        form = page.text.split('action="/.menshen/devices/code"', 1)[1]
        shown = laptop.post("/.menshen/devices/code", data={"csrf": form_fields(form)["csrf"]})
        assert shown.status_code == 200
        match = CODE.search(shown.text)
        assert match is not None
        assert "menshen agent enrol --gateway " + _https(stack) in shown.text
        cookies = laptop.cookies

    agent_dir = tmp_path / "agent"
    out = runner.invoke(
        cli,
        [
            "agent", "enrol", "--gateway", _https(stack), "--code", match.group(1),
            "--name", "Alice laptop", "--dir", str(agent_dir),
            "--ca-file", str(_server_cert(stack)),
        ],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    device_id = json.loads((agent_dir / "state.json").read_text())["device_id"]
    assert (agent_dir / "device.p12").exists()
    assert "managed" in _menshen(stack, "device", "approve", device_id)
    out = runner.invoke(
        cli,
        ["agent", "report", "--dir", str(agent_dir), "--disk-encrypted", "--screen-lock",
         "--firewall"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "managed" in out.output

    device = (agent_dir / "device.crt", agent_dir / "device.key")
    with _client(stack, device, cookies) as managed, _client(stack, None, cookies) as bare:
        assert wait_until(lambda: managed.get("/settlement/batches").status_code == 200)
        assert managed.get("/wiki/").status_code == 200
        session_id = _session_id(stack, managed)
        assert _bound_device(stack, session_id) == device_id
        listed = managed.get("/.menshen/devices")
        assert "(this device)" in listed.text
        assert 'class="trust">managed<' in listed.text
        # The same cookie without the device's certificate is an unknown device.
        assert bare.get("/settlement/batches", headers=JSON).status_code == 403
        assert bare.get("/wiki/").status_code == 200

        assert "ended" in _menshen(stack, "device", "revoke", device_id)
        assert wait_until(lambda: managed.get("/wiki/").status_code == 302)
        assert "/.menshen/login" in managed.get("/wiki/").headers["location"]
    kinds = {(r.kind, r.outcome) for r in stack.audit()}
    for kind in ("device.code_issued", "device.enrolled", "device.approved"):
        assert (kind, "success") in kinds
    assert ("device.posture_accepted", "success") in kinds
    assert ("device.revoked", "success") in kinds
    assert stack.wait_audit(lambda r: r.kind == "session.revoked" and r.session_id == session_id)


def test_users_rename_and_remove_their_device_on_the_page(
    stack: RunningStack, tmp_path: Path
) -> None:
    """Removing a device on the devices page revokes it and ends the session bound to it."""
    device = _enrol_over_http(stack, tmp_path, "bob", "Bob phone")
    with _client(stack, (device.cert, device.key_file)) as phone:
        assert sign_in(stack, phone, "bob", target="/wiki/").status_code == 302
        session_id = _session_id(stack, phone)
        assert wait_until(lambda: _wiki_binds(stack, phone, session_id))
        page = phone.get("/.menshen/devices")
        rename = form_fields(page.text.split('action="/.menshen/devices/rename"', 1)[1])
        renamed = phone.post(
            "/.menshen/devices/rename",
            data={"csrf": rename["csrf"], "device": device.device_id, "name": "Bob's phone"},
        )
        assert renamed.status_code == 302
        page = phone.get("/.menshen/devices")
        assert "Bob&#39;s phone" in page.text
        remove = form_fields(page.text.split('action="/.menshen/devices/remove"', 1)[1])
        gone = phone.post(
            "/.menshen/devices/remove", data={"csrf": remove["csrf"], "device": device.device_id}
        )
        assert gone.status_code == 302
        assert phone.get("/wiki/").status_code == 302
    assert stack.wait_audit(
        lambda r: r.kind == "device.revoked" and r.details.get("device") == device.device_id
    )


def _wiki_binds(running: RunningStack, client: httpx.Client, session_id: str) -> bool:
    return (
        client.get("/wiki/").status_code == 200 and _bound_device(running, session_id) is not None
    )


# -- attacks ---------------------------------------------------------------------------------
def test_forged_posture_reports_are_refused_with_the_reason(
    stack: RunningStack, tmp_path: Path
) -> None:
    """Unsigned, alg none, HS256 over the public key, another device's key, a replay: 403."""
    victim = _enrol_over_http(stack, tmp_path, "alice", "Alice desktop")
    other = _enrol_over_http(stack, tmp_path, "bob", "Bob laptop")
    now = _platform(stack).clock.now()
    body = report_body(victim.device_id, GOOD, now, "n-forged")
    payload = _b64(json.dumps(body).encode())
    none_header = _b64(json.dumps({"alg": "none"}).encode())
    hs_header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    public = key_pem(victim.key)  # an attacker would use the public half; any key fails
    mac = hmac.new(public, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest()
    forged = {
        "unsigned": f"{none_header}.{payload}.",
        "bad_algorithm": f"{hs_header}.{payload}.{_b64(mac)}",
        "bad_signature": sign_report(other.key, body),
    }
    for reason, token in forged.items():
        answer = _post_json(
            stack, "/.menshen/devices/posture", {"device_id": victim.device_id, "report": token}
        )
        assert answer.status_code == 403, (reason, answer.text)
        assert answer.json()["detail"] == "The posture report was refused."
        assert stack.wait_audit(
            lambda r, reason=reason: r.kind == "device.posture_refused" and r.reason == reason
        )
    good = sign_report(victim.key, report_body(victim.device_id, GOOD, now, "n-good"))
    sent = {"device_id": victim.device_id, "report": good}
    assert _post_json(stack, "/.menshen/devices/posture", sent).status_code == 200
    assert _post_json(stack, "/.menshen/devices/posture", sent).status_code == 403
    assert stack.wait_audit(lambda r: r.kind == "device.posture_refused" and r.reason == "replayed")
    garbage = _post_json(stack, "/.menshen/devices/posture", {"device_id": victim.device_id})
    assert garbage.status_code == 400


def test_another_users_device_certificate_is_not_their_device(
    stack: RunningStack, tmp_path: Path
) -> None:
    """Bob's session with Alice's certificate: no device, no binding, an audit event."""
    alices = _enrol_over_http(stack, tmp_path, "alice", "Alice tablet")
    with _client(stack) as plain:
        assert sign_in(stack, plain, "bob", target="/wiki/").status_code == 302
        cookies = plain.cookies
    with _client(stack, (alices.cert, alices.key_file), cookies) as stolen:
        session_id = _session_id(stack, stolen)
        assert wait_until(
            lambda: (
                stolen.get("/wiki/").status_code == 200
                and any(
                    r.reason == WRONG_USER and r.session_id == session_id for r in stack.audit()
                )
            )
        )
        assert _bound_device(stack, session_id) is None
    event = stack.wait_audit(lambda r: r.reason == WRONG_USER and r.session_id == session_id)
    assert (event.kind, event.details["device"]) == ("attack.blocked", alices.device_id)


def test_spent_and_expired_enrolment_codes_are_refused(stack: RunningStack, tmp_path: Path) -> None:
    """A code works once and only within its lifetime; each refusal is audited."""
    platform = _platform(stack)
    issued = platform.devices(TENANT).issue_code(_user_id(stack, "alice"))
    request = {
        "code": issued.code,
        "name": "Laptop",
        "csr": certificate_request(new_device_key(), "x"),
    }
    assert _post_json(stack, "/.menshen/devices/enrol", request).status_code == 201
    again = {**request, "csr": certificate_request(new_device_key(), "y")}
    reused = _post_json(stack, "/.menshen/devices/enrol", again)
    assert reused.status_code == 403
    assert "not valid" in reused.json()["detail"]
    assert stack.wait_audit(
        lambda r: r.kind == "device.enrol_refused" and r.reason == "code_reused"
    )

    stale = new_code(secrets.token_bytes)
    plain = normalise_code(stale)
    assert plain is not None
    now = platform.clock.now()
    platform.store.tenant(TENANT).device_enrolments.add(
        DeviceEnrolmentRecord(
            tenant_id=TENANT,
            code_hash=code_hash(plain),
            user_id=_user_id(stack, "alice"),
            created_at=now - timedelta(hours=1),
            expires_at=now - timedelta(minutes=50),
        )
    )
    expired = _post_json(stack, "/.menshen/devices/enrol", {**again, "code": stale})
    assert expired.status_code == 403
    assert stack.wait_audit(
        lambda r: r.kind == "device.enrol_refused" and r.reason == "code_expired"
    )


def test_a_certificate_from_another_tenants_ca_is_no_device(
    stack: RunningStack, tmp_path: Path
) -> None:
    """The handshake accepts any tenant's device CA; the serial means nothing here."""
    platform = _platform(stack)
    now = platform.clock.now()
    platform.store.add_tenant(TenantRecord("other-firm", "Other firm", now))
    platform.store.tenant("other-firm").users.add(
        UserRecord("other-firm", "u-eve", "eve", "eve@other.example", "Eve", None, False, now, now)
    )
    key = new_device_key()
    enrolment = platform.devices("other-firm").enrol(
        "u-eve", "Eve laptop", csr_pem=certificate_request(key, "Eve laptop")
    )
    cert, key_file = tmp_path / "eve.crt", tmp_path / "eve.key"
    cert.write_text(str(enrolment.certificate_pem), encoding="ascii")
    key_file.write_bytes(key_pem(key))
    with _client(stack) as plain:
        assert sign_in(stack, plain, "alice", target="/wiki/").status_code == 302
        cookies = plain.cookies
    with _client(stack, (cert, key_file), cookies) as foreign:
        # Once the gateway trusts the other tenant's CA the handshake passes...
        assert wait_until(lambda: _status(foreign, "/wiki/") == 200)
        # ...but the certificate is no device of this tenant.
        assert foreign.get("/settlement/batches", headers=JSON).status_code == 403
        assert _bound_device(stack, _session_id(stack, foreign)) is None


def _status(client: httpx.Client, path: str) -> int:
    try:
        return client.get(path).status_code
    except (httpx.TransportError, ssl.SSLError):
        return 0
