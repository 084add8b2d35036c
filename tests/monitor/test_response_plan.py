from __future__ import annotations

import json
from datetime import timedelta

from menshen.monitor.model import Entity, EntityKind, Severity
from menshen.monitor.response.live import LiveResponse
from menshen.monitor.response.messages import (
    Alert,
    email_message,
    sign,
    slack_body,
    teams_body,
    verify_signature,
    webhook_request,
)
from menshen.monitor.response.model import ActionKind, Playbook
from menshen.monitor.response.plan import plan

from .findings import T0, finding

REVOKE = Playbook(
    "exfil", frozenset({"volume"}), Severity.HIGH, 0.5, actions=(ActionKind.REVOKE_SESSIONS,)
)


def test_a_playbook_fires_on_its_detector_at_or_above_its_minimums() -> None:
    """High volume at 0.9 fires; medium, low confidence or another detector does not."""
    assert plan([REVOKE], finding(severity=Severity.HIGH, confidence=0.9), 0, 70)
    assert not plan([REVOKE], finding(severity=Severity.MEDIUM), 0, 35)
    assert not plan([REVOKE], finding(severity=Severity.HIGH, confidence=0.4), 0, 28)
    assert not plan([REVOKE], finding(detector="hours", severity=Severity.HIGH), 0, 70)


def test_the_same_finding_plans_the_same_keys() -> None:
    """Seen twice, a finding plans identical dedupe keys (one action in the store)."""
    one = plan([REVOKE], finding(severity=Severity.HIGH), 0, 70)[0].actions
    two = plan([REVOKE], finding(severity=Severity.HIGH), 70, 91)[0].actions
    other = plan([REVOKE], finding(severity=Severity.HIGH, event="e2"), 0, 70)[0].actions
    assert one[0].dedupe_key == two[0].dedupe_key != other[0].dedupe_key


def test_a_score_playbook_fires_on_crossing_its_threshold_only() -> None:
    """Rising from 57 to 72 crosses 70; staying above (72 -> 80) does not fire again."""
    book = Playbook("risky", risk_at_least=70.0, actions=(ActionKind.REQUIRE_STEP_UP,))
    assert plan([book], finding(), 57.75, 72.5)[0].actions[0].target == "user:u-alice"
    assert plan([book], finding(), 72.5, 80.0) == []


def test_actions_target_what_the_finding_names() -> None:
    """Blocks take the source address, quarantine the device, suspend a machine client."""
    every = Playbook("all", actions=tuple(ActionKind), block_for=timedelta(minutes=15))
    fired = plan([every], finding(), 0, 35)[0]
    targets = {a.kind: a.target for a in fired.actions}
    assert targets[ActionKind.BLOCK_IP] == "ip:203.0.113.9"
    assert targets[ActionKind.SUSPEND] == "user:u-alice"
    assert [a.expires_in for a in fired.actions if a.kind is ActionKind.BLOCK_IP] == [
        timedelta(minutes=15)
    ]
    assert fired.skipped == ("quarantine_device: nothing to act on for user:u-alice",)
    client = finding(subject=Entity(EntityKind.CLIENT, "bank-a"), session_id="s9")
    targets = {a.kind: a.target for a in plan([every], client, 0, 35)[0].actions}
    assert targets[ActionKind.SUSPEND] == "client:bank-a"
    assert targets[ActionKind.REVOKE_SESSIONS] == "session:s9"
    assert ActionKind.REQUIRE_STEP_UP not in targets


def test_live_tables_answer_the_guard_from_memory() -> None:
    """Risk per user, blocks until their time, step-up since a time; per tenant."""
    live = LiveResponse()
    live.set_risk("t1", "u1", 72.5)
    live.block("t1", "203.0.113.9", T0 + timedelta(minutes=5))
    live.require_step_up("t1", "u1", T0)
    assert live.risk("t1", "u1") == 72.5
    assert live.risk("t2", "u1") == 0.0
    assert live.blocking
    assert live.blocked("t1", "203.0.113.9", T0)
    assert not live.blocked("t1", "203.0.113.9", T0 + timedelta(minutes=5))
    assert not live.blocked("t2", "203.0.113.9", T0)
    assert live.step_up_since("t1", "u1") == T0
    live.expire_blocks(T0 + timedelta(minutes=6))
    assert not _blocking(live)
    live.set_risk("t1", "u1", 0.0)
    assert live.risk("t1", "u1") == 0.0


def _blocking(live: LiveResponse) -> bool:
    return live.blocking


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
        source_ip="203.0.113.9",
    )


def test_a_webhook_is_signed_over_timestamp_and_body() -> None:
    """The receiver's check passes for the sent body and fails for any change or old stamp."""
    secret = "s3cret-s3cret-s3cret"
    body, headers = webhook_request(_alert(), secret, 1_800_000_000)
    stamp, signature = headers["X-Menshen-Timestamp"], headers["X-Menshen-Signature"]
    assert signature == sign(secret, 1_800_000_000, body)
    assert signature.startswith("v1=")
    assert json.loads(body)["actions"] == ["revoke_sessions user:u-alice (done)"]
    assert verify_signature(secret, stamp, body, signature, now=1_800_000_010)
    assert not verify_signature(secret, stamp, body + b" ", signature, now=1_800_000_010)
    assert not verify_signature("other-secret-other", stamp, body, signature, now=1_800_000_010)
    assert not verify_signature(secret, stamp, body, signature, now=1_800_000_000 + 301)
    assert not verify_signature(secret, "soon", body, signature, now=1_800_000_000)


def test_slack_teams_and_mail_shapes() -> None:
    """Slack gets text+blocks, Teams a MessageCard with facts, mail a subject and body."""
    slack = slack_body(_alert())
    assert slack["text"].startswith("[menshen] high volume")
    assert slack["blocks"][0]["type"] == "header"
    teams = teams_body(_alert())
    assert teams["@type"] == "MessageCard"
    assert teams["themeColor"] == "E67E22"
    assert {"name": "Risk", "value": "72.5 (high)"} in teams["sections"][0]["facts"]
    mail = email_message(_alert(), "menshen@firm.example", ("soc@firm.example",))
    assert mail["To"] == "soc@firm.example"
    assert "Incident: i1" in mail.get_content()
