"""Alert messages for each notifier, built without I/O (so each shape is tested exactly).

* Generic webhook: a JSON body signed with HMAC-SHA256 over ``"<timestamp>.<body>"`` (the
  scheme Stripe and Slack use for their own webhooks): headers ``X-Menshen-Timestamp``
  (Unix seconds) and ``X-Menshen-Signature: v1=<hex>``. A receiver recomputes the MAC with
  the shared secret, compares in constant time and refuses timestamps older than a few
  minutes, so a captured alert cannot be replayed later (RFC 2104; ``verify_signature``).
* Slack incoming webhook: ``{"text": ..., "blocks": [...]}`` (Slack "Sending messages using
  incoming webhooks").
* Microsoft Teams incoming webhook: a ``MessageCard`` (``@type``, ``@context``, ``summary``,
  ``themeColor``, ``title``, ``sections[].facts``).
* E-mail: an RFC 5322 message (``email.message.EmailMessage``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

__all__ = [
    "Alert",
    "email_message",
    "sign",
    "slack_body",
    "teams_body",
    "verify_signature",
    "webhook_request",
]

SIGNATURE_HEADER = "X-Menshen-Signature"
TIMESTAMP_HEADER = "X-Menshen-Timestamp"
MAX_SKEW_SECONDS = 300
_COLOURS = {"low": "2E86C1", "medium": "F1C40F", "high": "E67E22", "critical": "C0392B"}


@dataclass(frozen=True, slots=True)
class Alert:
    """What a playbook tells people: which finding, about whom, and what was done."""

    tenant_id: str
    playbook: str
    detector: str
    subject: str
    severity: str
    confidence: float
    summary: str
    at: datetime
    score: float
    level: str
    actions: tuple[str, ...]
    observe_only: bool
    incident_id: str | None = None
    source_ip: str | None = None

    @property
    def title(self) -> str:
        return f"[menshen] {self.severity} {self.detector}: {self.subject}"

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "menshen.alert",
            "tenant": self.tenant_id,
            "playbook": self.playbook,
            "detector": self.detector,
            "subject": self.subject,
            "severity": self.severity,
            "confidence": self.confidence,
            "summary": self.summary,
            "at": self.at.isoformat(),
            "risk": {"score": self.score, "level": self.level},
            "actions": list(self.actions),
            "observe_only": self.observe_only,
            "incident": self.incident_id,
            "source_ip": self.source_ip,
        }

    def lines(self) -> list[tuple[str, str]]:
        done = ", ".join(self.actions) or "none"
        return [
            ("Subject", self.subject),
            ("Finding", f"{self.summary} ({self.detector}, confidence {self.confidence:.2f})"),
            ("Risk", f"{self.score:.1f} ({self.level})"),
            ("Actions", done + (" (observe only: not taken)" if self.observe_only else "")),
            ("Source", self.source_ip or "-"),
            ("Incident", self.incident_id or "-"),
            ("When", self.at.isoformat()),
        ]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, now: int) -> bool:
    """A receiver's check: the MAC matches and the timestamp is within the allowed skew."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamp) > MAX_SKEW_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


def webhook_request(alert: Alert, secret: str, timestamp: int) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a signed generic-webhook POST."""
    body = json.dumps(alert.as_json(), sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    return body, headers


def slack_body(alert: Alert) -> dict[str, Any]:
    facts = "\n".join(f"*{name}:* {value}" for name, value in alert.lines())
    return {
        "text": alert.title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
        ],
    }


def teams_body(alert: Alert) -> dict[str, Any]:
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": alert.title,
        "themeColor": _COLOURS.get(alert.severity, "808080"),
        "title": alert.title,
        "sections": [{"facts": [{"name": k, "value": v} for k, v in alert.lines()]}],
    }


def email_message(alert: Alert, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.title
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content("\n".join(f"{name}: {value}" for name, value in alert.lines()) + "\n")
    return message
