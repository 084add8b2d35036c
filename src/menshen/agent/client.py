"""The agent's two calls to the gateway, and what it keeps on the device.

``enrol`` makes the device key and CSR, redeems the user's enrolment code at
``/.menshen/devices/enrol`` and writes, into the agent's directory (mode 0700): the key
(``device.key``, 0600), the certificate (``device.crt``), the device CA (``device-ca.crt``),
a PKCS #12 bundle for the browser or keychain (``device.p12``, 0600) and ``state.json``
(0600: it holds the bundle's password). ``report`` signs the current posture with the key
and sends it to ``/.menshen/devices/posture``. TLS to the gateway is verified: against the
system's CAs, or the ``--ca-file`` given at enrolment (a self-signed gateway).
"""

from __future__ import annotations

import json
import secrets
import ssl
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from menshen.agent.credentials import (
    certificate_request,
    key_pem,
    load_key,
    new_device_key,
    pkcs12_bundle,
    write_private,
)
from menshen.agent.report import Posture, report_body, sign_report

__all__ = ["AgentError", "AgentState", "Enrolled", "Overrides", "enrol", "report"]

STATE_FILE = "state.json"
KEY_FILE = "device.key"
CERT_FILE = "device.crt"
CA_FILE = "device-ca.crt"
P12_FILE = "device.p12"
TIMEOUT_SECONDS = 15.0


class AgentError(Exception):
    """Something the person running the agent must fix; the message says what."""


@dataclass(frozen=True, slots=True)
class AgentState:
    gateway: str
    tenant: str
    device_id: str
    name: str
    gateway_ca_file: str | None
    p12_password: str

    def save(self, directory: Path) -> None:
        write_private(directory / STATE_FILE, json.dumps(asdict(self), indent=2).encode())

    @classmethod
    def load(cls, directory: Path) -> AgentState:
        try:
            data = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            raise AgentError(f"{directory} holds no enrolment; run `menshen agent enrol`") from None
        except (OSError, ValueError, TypeError) as exc:
            raise AgentError(f"{directory / STATE_FILE} is unreadable: {exc}") from None


@dataclass(frozen=True, slots=True)
class Enrolled:
    state: AgentState
    directory: Path


@dataclass(frozen=True, slots=True)
class Overrides:
    """Facts stated by the caller (an MDM, a test) instead of detected; None: detect."""

    disk_encrypted: bool | None = None
    screen_lock: bool | None = None
    firewall: bool | None = None

    def apply(self, posture: Posture) -> Posture:
        return replace(
            posture,
            disk_encrypted=_stated(self.disk_encrypted, posture.disk_encrypted),
            screen_lock=_stated(self.screen_lock, posture.screen_lock),
            firewall=_stated(self.firewall, posture.firewall),
        )


def _stated(stated: bool | None, detected: bool) -> bool:
    return detected if stated is None else stated


def http_client(gateway_ca_file: str | None) -> httpx.Client:
    context = ssl.create_default_context(cafile=gateway_ca_file)
    return httpx.Client(verify=context, timeout=TIMEOUT_SECONDS, follow_redirects=False)


def enrol(
    *,
    gateway: str,
    code: str,
    name: str,
    directory: Path,
    gateway_ca_file: str | None = None,
    p12_password: str | None = None,
) -> Enrolled:
    """Enrol this device with ``code``; writes the key, certificate and bundle."""
    gateway = gateway.rstrip("/")
    if (directory / STATE_FILE).exists():
        raise AgentError(f"{directory} is enrolled already; use another --dir")
    key = new_device_key()
    payload = {"code": code, "name": name, "csr": certificate_request(key, name)}
    with http_client(gateway_ca_file) as http:
        answer = _post(http, f"{gateway}/.menshen/devices/enrol", payload, expect=201)
    certificate, ca = _text(answer, "certificate"), _text(answer, "ca_certificate")
    state = AgentState(
        gateway=gateway,
        tenant=_text(answer, "tenant"),
        device_id=_text(answer, "device_id"),
        name=_text(answer, "name"),
        gateway_ca_file=gateway_ca_file,
        p12_password=p12_password or secrets.token_urlsafe(12),
    )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(directory / KEY_FILE, key_pem(key))
    (directory / CERT_FILE).write_text(certificate, encoding="ascii")
    (directory / CA_FILE).write_text(ca, encoding="ascii")
    bundle = pkcs12_bundle(key, certificate, ca, name=state.name, password=state.p12_password)
    write_private(directory / P12_FILE, bundle)
    state.save(directory)
    return Enrolled(state, directory)


def report(
    *,
    directory: Path,
    posture: Posture,
    now: datetime | None = None,
    nonce: str | None = None,
) -> str:
    """Sign ``posture`` with the device key and send it; the trust the gateway now gives."""
    state = AgentState.load(directory)
    try:
        key = load_key(directory / KEY_FILE)
    except (OSError, ValueError) as exc:
        raise AgentError(f"cannot read the device key: {exc}") from None
    at = now or datetime.now(UTC)
    body = report_body(state.device_id, posture, at, nonce or secrets.token_hex(16))
    payload = {"device_id": state.device_id, "report": sign_report(key, body)}
    with http_client(state.gateway_ca_file) as http:
        answer = _post(http, f"{state.gateway}/.menshen/devices/posture", payload, expect=200)
    return _text(answer, "trust")


def _post(http: httpx.Client, url: str, payload: dict[str, str], *, expect: int) -> Any:
    try:
        response = http.post(url, json=payload)
    except httpx.HTTPError as exc:
        raise AgentError(f"cannot reach the gateway at {url}: {exc}") from None
    if response.status_code != expect:
        raise AgentError(f"the gateway refused ({response.status_code}): {_detail(response)}")
    try:
        return response.json()
    except ValueError:
        raise AgentError("the gateway answered something other than JSON") from None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.reason_phrase


def _text(answer: Any, name: str) -> str:
    value = answer.get(name) if isinstance(answer, dict) else None
    if not isinstance(value, str) or not value:
        raise AgentError(f"the gateway's answer lacks {name!r}")
    return value
