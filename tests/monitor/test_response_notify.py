from __future__ import annotations

import asyncio
import json
import socket

from menshen.events.model import AuditEvent
from menshen.monitor.response.messages import Alert, verify_signature
from menshen.monitor.response.notify import Notifications
from menshen.settings import NotifierOptions
from menshen.testing import FixedClock

from .findings import T0
from .receivers import SmtpStub, http_receiver

SECRET = "webhook-shared-secret"


def _alert() -> Alert:
    return Alert(
        tenant_id="t1",
        playbook="exfil",
        detector="volume",
        subject="user:u-alice",
        severity="high",
        confidence=0.9,
        summary="downloaded 40x the usual volume",
        at=T0,
        score=72.5,
        level="high",
        actions=("revoke_sessions user:u-alice (done)",),
        observe_only=False,
        incident_id="i1",
    )


async def _no_wait(seconds: float) -> None:
    return None


def _deliver(options: NotifierOptions, events: list[AuditEvent]) -> Notifications:
    async def go() -> Notifications:
        notes = Notifications(publish=events.append, clock=FixedClock(T0), sleep=_no_wait)
        notes.start()
        notes.send(options, _alert())
        await asyncio.wait_for(notes.drain(), 30)
        await notes.stop()
        return notes

    return asyncio.run(go())


def test_the_webhook_receiver_verifies_the_hmac_signature() -> None:
    """The loopback receiver gets the alert; its signature checks out with the secret."""
    events: list[AuditEvent] = []
    with http_receiver() as (url, got):
        options = NotifierOptions("soc", "webhook", url=f"{url}/hook", secret=SECRET)
        _deliver(options, events)
    path, headers, body = got.requests[0]
    assert path == "/hook"
    now = int(T0.timestamp())
    assert verify_signature(
        SECRET, headers["X-Menshen-Timestamp"], body, headers["X-Menshen-Signature"], now
    )
    assert json.loads(body)["subject"] == "user:u-alice"
    assert [e.kind for e in events] == ["monitor.notify.sent"]


def test_a_failing_receiver_is_retried_then_succeeds() -> None:
    """Two 503 answers, then 200: three attempts, one success event."""
    events: list[AuditEvent] = []
    with http_receiver() as (url, got):
        got.statuses.extend([503, 503])
        options = NotifierOptions("slack", "slack", url=url, attempts=3)
        _deliver(options, events)
    assert len(got.requests) == 3
    assert json.loads(got.requests[-1][2])["text"].startswith("[menshen]")
    assert events[0].details["attempts"] == 3


def test_an_unreachable_receiver_is_given_up_and_audited() -> None:
    """After its attempts, a delivery that never worked is a monitor.notify.failed event."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    events: list[AuditEvent] = []
    options = NotifierOptions("teams", "teams", url=f"http://127.0.0.1:{port}/", attempts=2)
    notes = _deliver(options, events)
    assert notes.failed == 1
    assert [(e.kind, e.outcome) for e in events] == [("monitor.notify.failed", "failure")]
    assert events[0].details["attempts"] == 2


def test_mail_goes_to_the_smtp_server() -> None:
    """The alert arrives over SMTP from the sender to each recipient."""
    events: list[AuditEvent] = []

    async def go() -> SmtpStub:
        stub = SmtpStub()
        await stub.start()
        options = NotifierOptions(
            "mail",
            "email",
            smtp_host="127.0.0.1",
            smtp_port=stub.port,
            starttls=False,
            sender="menshen@firm.example",
            recipients=("soc@firm.example", "ciso@firm.example"),
        )
        notes = Notifications(publish=events.append, clock=FixedClock(T0), sleep=_no_wait)
        notes.start()
        notes.send(options, _alert())
        await asyncio.wait_for(notes.drain(), 30)
        await notes.stop()
        await stub.stop()
        return stub

    stub = asyncio.run(go())
    sender, recipients, body = stub.messages[0]
    assert sender == "menshen@firm.example"
    assert recipients == ["soc@firm.example", "ciso@firm.example"]
    assert b"Subject: [menshen] high volume: user:u-alice" in body
    assert [e.kind for e in events] == ["monitor.notify.sent"]


def test_a_full_queue_drops_with_an_audit_event_instead_of_blocking() -> None:
    """Sending never blocks: past the bound the alert is dropped and the drop audited."""
    events: list[AuditEvent] = []

    async def go() -> None:
        notes = Notifications(publish=events.append, clock=FixedClock(T0), max_queued=1)
        options = NotifierOptions("soc", "webhook", url="http://127.0.0.1:9/", secret=SECRET)
        notes.send(options, _alert())
        notes.send(options, _alert())

    asyncio.run(go())
    assert [e.reason for e in events] == ["queue full: alert dropped"]
