"""The devices page and the agent endpoints without sockets: who may do what, and the audit."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable

import pytest

from menshen.access.audit import Context, PageAudit
from menshen.access.csrf import CsrfTokens
from menshen.access.device_api import DeviceApi
from menshen.access.device_pages import DevicePages
from menshen.access.pages import Pages
from menshen.agent.credentials import certificate_request, new_device_key
from menshen.crypto import SecretBox
from menshen.events.model import AuditEvent
from menshen.gateway.contract import Handle, RequestHead, Respond, Verdict
from menshen.identity.devices import DeviceService
from menshen.sessions.service import SessionService, SessionTimeouts
from menshen.store.records import SessionRecord, UserRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

CSRF = CsrfTokens(b"c" * 32)


class _World:
    def __init__(self, store: SqlStore) -> None:
        self.clock = FixedClock()
        now = self.clock.now()
        tenant = store.tenant("t1")
        for uid in ("u-ann", "u-ben"):
            tenant.users.add(
                UserRecord("t1", uid, uid, f"{uid}@x.example", uid, None, False, now, now)
            )
        self.devices = DeviceService(
            tenant, self.clock, SecretBox(b"k" * 32), random_bytes=random.Random(1).randbytes
        )
        self.sessions = SessionService(store, self.clock, SessionTimeouts())
        self.events: list[AuditEvent] = []
        audit = PageAudit(self.events.append, self.clock)
        self.session: SessionRecord | None = None
        self.pages = DevicePages(
            devices=lambda tenant_id: self.devices,
            sessions=self.sessions,
            find_session=lambda head, tenant_id: (self.session, ""),
            signed_in=lambda tenant_id, session: True,
            pages=Pages({"t1": "Test firm"}),
            csrf=CSRF,
            audit=audit,
            clock=self.clock,
        )
        self.api = DeviceApi(devices=lambda tenant_id: self.devices, audit=audit, clock=self.clock)

    def sign_in(self, user_id: str) -> SessionRecord:
        made = asyncio.run(
            self.sessions.create(
                "t1", user_id, user_agent_family="Chrome", ip="1.2.3.4", auth_level="mfa"
            )
        )
        self.session = made.record
        return made.record


def _head(
    method: str, path: str, content_type: str, scheme: str = "https", peer: str = "203.0.113.9"
) -> RequestHead:
    return RequestHead(
        method=method,
        path=path,
        query="",
        host="apps.example",
        port=443,
        scheme=scheme,  # type: ignore[arg-type]
        headers=(("content-type", content_type),),
        client_ip=peer,
        peer_ip=peer,
    )


def _call(route: Callable[[Context], Verdict], head: RequestHead, body: bytes) -> Respond:
    verdict = route(Context(head, "t1"))
    assert isinstance(verdict, Handle)

    async def answer() -> Respond:
        return await verdict.handler(head, body)

    return asyncio.run(answer())


def _form(route: Callable[[Context], Verdict], path: str, body: str) -> Respond:
    return _call(route, _head("POST", path, "application/x-www-form-urlencoded"), body.encode())


@pytest.fixture
def world(sqlite_store: SqlStore) -> _World:
    return _World(sqlite_store)


def test_a_form_without_the_sessions_token_is_refused(world: _World) -> None:
    """Removal without a valid CSRF token changes nothing and is an attack event."""
    world.sign_in("u-ann")
    device = world.devices.enrol(
        "u-ann", "Laptop", csr_pem=certificate_request(new_device_key(), "L")
    )
    answer = _form(
        world.pages.remove_submit, "/.menshen/devices/remove", f"device={device.device.id}&csrf=x"
    )
    assert answer.status == 403
    assert world.devices.list_for_user("u-ann")[0].revoked_at is None
    assert [e.kind for e in world.events] == ["attack.blocked"]


def test_another_users_device_cannot_be_renamed_or_removed(world: _World) -> None:
    """Ben names Ann's device id: refused like an unknown device, with the reason logged."""
    anns = world.devices.enrol(
        "u-ann", "Laptop", csr_pem=certificate_request(new_device_key(), "L")
    )
    bens = world.sign_in("u-ben")
    token = CSRF.token(bens.id, "device-remove")
    answer = _form(
        world.pages.remove_submit,
        "/.menshen/devices/remove",
        f"device={anns.device.id}&csrf={token}",
    )
    assert answer.status == 404
    assert world.devices.list_for_user("u-ann")[0].revoked_at is None
    assert [(e.kind, e.outcome, e.reason) for e in world.events] == [
        ("device.revoked", "failure", "wrong_user")
    ]


def test_without_a_finished_sign_in_the_page_sends_to_login(world: _World) -> None:
    """No session: the page and its forms redirect to the sign-in page."""
    answer = _call(world.pages.list_page, _head("GET", "/.menshen/devices", ""), b"")
    assert (answer.status, dict(answer.headers)["location"]) == (302, "/.menshen/login")


def test_enrolment_over_plain_http_is_refused_except_from_loopback(world: _World) -> None:
    """A code sent in the clear could be raced; only HTTPS (or a local test) may enrol."""
    issued = world.devices.issue_code("u-ann")
    body = json.dumps(
        {"code": issued.code, "name": "L", "csr": certificate_request(new_device_key(), "L")}
    ).encode()
    plain = _call(
        world.api.enrol, _head("POST", "/.menshen/devices/enrol", "application/json", "http"), body
    )
    assert plain.status == 403
    assert world.events[-1].reason == "enrolment over plain HTTP"
    local = _head("POST", "/.menshen/devices/enrol", "application/json", "http", "127.0.0.1")
    assert _call(world.api.enrol, local, body).status == 201


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"not json"),
        ("application/json", b"[1, 2]"),
        ("application/json", b'{"device_id": "d", "report": 7}'),
        ("text/plain", b'{"device_id": "d", "report": "x.y.z"}'),
    ],
)
def test_malformed_posture_calls_are_bad_requests(
    world: _World, content_type: str, body: bytes
) -> None:
    """Anything but a JSON object with the two strings is a 400 and an audited refusal."""
    answer = _call(
        world.api.posture, _head("POST", "/.menshen/devices/posture", content_type), body
    )
    assert answer.status == 400
    assert [(e.kind, e.reason) for e in world.events] == [
        ("device.posture_refused", "malformed request")
    ]
