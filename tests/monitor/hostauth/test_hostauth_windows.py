"""Windows Security events, read by the ingest pipeline's mapper, feed the same detectors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from menshen.monitor.hostauth.detect import HostAuthDetectors
from menshen.monitor.ingest.mappers.windows import map_windows
from menshen.monitor.ingest.reject import MapContext
from menshen.monitor.model import ObservedEvent

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
CTX = MapContext(tenant_id="t1", source="dc01", now=T0 + timedelta(days=30))


def event_4624(
    minutes: int, user: str, workstation: str, computer: str, package: str, record: int
) -> ObservedEvent:
    raw = json.dumps(
        {
            "EventID": 4624,
            "TimeCreated": (T0 + timedelta(minutes=minutes)).isoformat(),
            "Computer": computer,
            "EventRecordID": str(record),
            "EventData": {
                "TargetUserName": user,
                "TargetDomainName": "FORMOSA",
                "WorkstationName": workstation,
                "IpAddress": "10.0.0.7",
                "LogonType": "3",
                "AuthenticationPackageName": package,
            },
        }
    )
    return map_windows(raw, CTX, f"line-{record}")


def test_pass_the_hash_shape_in_windows_4624_is_flagged() -> None:
    """An NTLM network logon (4624, type 3) to a Kerberos-only server from a new machine."""
    detectors = HostAuthDetectors()
    for i in range(300):
        user = f"user{i % 12}"
        detectors.learn(event_4624(i, user, f"WS{i % 12}", f"SRV{i % 3}", "Kerberos", i))
    usual = event_4624(400, "user4", "WS4", "SRV1", "Kerberos", 1000)
    odd = event_4624(401, "user4", "LAPTOP-X", "SRV2", "NTLM", 1001)
    assert usual.logon_type == "Network"
    assert detectors.observe(usual) is None
    finding = detectors.observe(odd)
    assert finding is not None
    assert finding.subject.id == "user4@FORMOSA"
    assert finding.event_ids == (odd.event_id,)
    assert finding.evidence["auth_type"] == "NTLM"
