"""The source mappers: realistic samples per format, and fuzzing that only ever rejects."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from menshen.monitor.ingest.mappers.lanl import map_lanl
from menshen.monitor.ingest.mappers.linux_auth import map_linux_auth
from menshen.monitor.ingest.mappers.native import map_native
from menshen.monitor.ingest.mappers.ocsf import map_ocsf
from menshen.monitor.ingest.mappers.registry import MAPPERS
from menshen.monitor.ingest.mappers.windows import map_windows
from menshen.monitor.ingest.reject import MapContext, Rejected
from menshen.monitor.ingest.syslog5424 import map_syslog
from menshen.monitor.model import Category, EventOutcome
from tests.conftest import require_service

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CTX = MapContext(tenant_id="t1", source="src", now=NOW)
LANL = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "lanl"


def test_native_json_line_becomes_an_event() -> None:
    """menshen's own JSON shape maps field by field."""
    line = json.dumps(
        {
            "time": "2026-11-25T09:14:03Z",
            "category": "authentication",
            "action": "login",
            "outcome": "success",
            "user": "alice",
            "src_ip": "203.0.113.7",
            "id": "vpn-81723",
            "bytes_out": 10,
        }
    )
    event = map_native(line, CTX, "d1")
    assert event.user == "alice"
    assert event.src_ip == "203.0.113.7"
    assert event.event_id == "vpn-81723"
    assert event.bytes_out == 10
    assert event.category is Category.AUTHENTICATION
    assert event.outcome is EventOutcome.SUCCESS
    assert event.at == datetime(2026, 11, 25, 9, 14, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"time": "2026-11-25T09:14:03Z", "category": "auth', "bad_json"),
        ("[1, 2]", "wrong_type"),
        ('{"time": 1, "category": "authentication", "action": "x"}', "time_too_old"),
        ('{"time": "1970-01-01T00:00:00Z", "category": "mfa", "action": "x"}', "time_too_old"),
        ('{"time": "2027-01-01T00:00:00Z", "category": "mfa", "action": "x"}', "time_in_future"),
        ('{"time": "2026-11-25T09:00:00", "category": "mfa", "action": "x"}', "bad_time"),
        ('{"time": "2026-11-25T09:00:00Z", "category": "mfa", "action": 5.5}', "wrong_type"),
        ('{"time": "2026-11-25T09:00:00Z", "category": "nope", "action": "x"}', "bad_value"),
        ('{"time": "2026-11-25T09:00:00Z", "category": "mfa"}', "missing_field"),
        ('{"time": true, "category": "mfa", "action": "x"}', "wrong_type"),
        (
            '{"time": "2026-11-25T09:00:00Z", "category": "mfa", "action": "x", "bytes_out": "a"}',
            "wrong_type",
        ),
    ],
)
def test_native_json_refusals_name_their_reason(line: str, reason: str) -> None:
    """Truncated JSON, wrong types, 1970 and future times are each refused with a reason."""
    with pytest.raises(Rejected) as refused:
        map_native(line, CTX, "d1")
    assert refused.value.reason == reason


def test_future_time_within_the_skew_is_accepted() -> None:
    """A sender whose clock runs a minute ahead is within the default five-minute skew."""
    at = (NOW + timedelta(minutes=1)).isoformat()
    line = json.dumps({"time": at, "category": "mfa", "action": "push"})
    assert map_native(line, CTX, "d1").at == NOW + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("line", "user", "ip", "outcome", "logon"),
    [
        (
            "Nov 25 10:15:02 bastion sshd[1234]: Accepted password for alice from 10.0.0.5 "
            "port 51234 ssh2",
            "alice",
            "10.0.0.5",
            EventOutcome.SUCCESS,
            "ssh",
        ),
        (
            "Nov 25 10:15:03 bastion sshd[1235]: Failed password for invalid user admin from "
            "198.51.100.9 port 40022 ssh2",
            "admin",
            "198.51.100.9",
            EventOutcome.FAILURE,
            "invalid_user",
        ),
        (
            "Nov 25 10:15:04 bastion sshd[1236]: Accepted publickey for deploy from "
            "2001:db8::7 port 50022 ssh2: ED25519 SHA256:AbCdEf",
            "deploy",
            "2001:db8::7",
            EventOutcome.SUCCESS,
            "ssh",
        ),
        (
            "Nov 25 10:15:05 bastion sshd[1237]: Invalid user oracle from 203.0.113.50 port 22",
            "oracle",
            "203.0.113.50",
            EventOutcome.FAILURE,
            "invalid_user",
        ),
        (
            "2026-11-25T10:15:06.123456+00:00 bastion sshd[99]: Failed publickey for bob from "
            "10.0.0.6 port 1 ssh2",
            "bob",
            "10.0.0.6",
            EventOutcome.FAILURE,
            "ssh",
        ),
    ],
)
def test_sshd_lines_map_to_logins(
    line: str, user: str, ip: str, outcome: EventOutcome, logon: str
) -> None:
    """Accepted/failed password and publickey, invalid users, BSD and RFC 3339 headers."""
    event = map_linux_auth(line, CTX, "l1")
    assert (event.user, event.src_ip, event.outcome, event.logon_type) == (user, ip, outcome, logon)
    assert event.dst_host == "bastion"
    assert event.action == "ssh_login"


def test_sudo_lines_map_success_and_failure() -> None:
    """sudo commands succeed; incorrect password attempts fail."""
    ok = map_linux_auth(
        "Nov 25 10:20:00 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/usr/bin/systemctl restart nginx",
        CTX,
        "s1",
    )
    bad = map_linux_auth(
        "Nov 25 10:21:00 web1 sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; "
        "PWD=/home/bob ; USER=root ; COMMAND=/bin/bash",
        CTX,
        "s2",
    )
    assert (ok.user, ok.outcome, ok.resource) == ("alice", EventOutcome.SUCCESS, "root")
    assert (bad.user, bad.outcome) == ("bob", EventOutcome.FAILURE)


def test_bsd_time_without_year_takes_last_year_when_needed() -> None:
    """A 31 December line read on 1 January belongs to the year before."""
    ctx = MapContext(tenant_id="t1", source="s", now=datetime(2027, 1, 1, 0, 5, tzinfo=UTC))
    line = "Dec 31 23:59:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2"
    assert map_linux_auth(line, ctx, "x").at.year == 2026


def test_other_programs_are_refused_as_unrecognised() -> None:
    """A cron line in auth.log is counted, not mapped."""
    with pytest.raises(Rejected) as refused:
        map_linux_auth("Nov 25 10:00:01 h CRON[5]: pam_unix(cron:session): opened", CTX, "x")
    assert refused.value.reason == "unrecognised_program"


def test_ocsf_authentication_logon() -> None:
    """OCSF Authentication (3002) Logon with MFA, Kerberos, source and destination."""
    record = {
        "class_uid": 3002,
        "category_uid": 3,
        "activity_id": 1,
        "time": 1764064800000,
        "status_id": 1,
        "user": {"name": "alice@firm.example", "uid": "S-1-5-21-1"},
        "src_endpoint": {"ip": "192.0.2.10", "hostname": "laptop-7"},
        "dst_endpoint": {"hostname": "dc01"},
        "auth_protocol": "Kerberos",
        "logon_type": "Network",
        "is_mfa": True,
        "session": {"uid": "s-9"},
        "metadata": {"uid": "evt-1", "product": {"name": "IdP"}, "version": "1.1.0"},
        "http_request": {"user_agent": "Mozilla/5.0"},
    }
    event = map_ocsf(json.dumps(record), CTX, "d")
    assert event.category is Category.AUTHENTICATION
    assert event.action == "logon"
    assert (event.user, event.src_ip, event.dst_host) == (
        "alice@firm.example",
        "192.0.2.10",
        "dc01",
    )
    assert event.is_mfa is True
    assert event.auth_type == "Kerberos"
    assert event.event_id == "evt-1"
    assert event.outcome is EventOutcome.SUCCESS
    assert event.session_id == "s-9"


def test_ocsf_api_activity_read() -> None:
    """OCSF API Activity (6003) maps to an access event with the operation and resource."""
    record = {
        "class_uid": 6003,
        "activity_id": 2,
        "time": 1764064800000,
        "status_id": 2,
        "actor": {"user": {"name": "svc-backup"}},
        "api": {"operation": "GetObject", "service": {"name": "s3"}},
        "resources": [{"name": "payroll/2026-11.csv"}],
        "src_endpoint": {"ip": "198.51.100.4"},
    }
    event = map_ocsf(json.dumps(record), CTX, "d")
    assert event.category is Category.ACCESS
    assert event.action == "GetObject"
    assert (event.user, event.app, event.resource) == ("svc-backup", "s3", "payroll/2026-11.csv")
    assert event.outcome is EventOutcome.FAILURE


def test_ocsf_other_classes_are_refused() -> None:
    """A Network Activity record (4001) is not an authentication or API event."""
    with pytest.raises(Rejected) as refused:
        map_ocsf('{"class_uid": 4001, "time": 1764064800000}', CTX, "d")
    assert refused.value.reason == "unsupported_class"


def _win(event_id: int, **data: str) -> str:
    return json.dumps(
        {
            "EventID": event_id,
            "TimeCreated": {"SystemTime": "2026-11-25T08:00:00.1234567Z"[:26] + "Z"},
            "Computer": "DC01.firm.local",
            "EventRecordID": 4711,
            "EventData": data,
        }
    )


@pytest.mark.parametrize(
    ("event_id", "data", "outcome", "auth", "logon"),
    [
        (
            4624,
            {"LogonType": "3", "AuthenticationPackageName": "NTLM"},
            "success",
            "NTLM",
            "Network",
        ),
        (4625, {"LogonType": "10", "Status": "0xc000006d"}, "failure", None, "RemoteInteractive"),
        (4648, {"AuthenticationPackageName": "Negotiate"}, "success", "Negotiate", None),
        (4768, {"Status": "0x0"}, "success", "Kerberos", None),
        (4769, {"Status": "0x1b", "ServiceName": "FILESRV$"}, "failure", "Kerberos", None),
        (4776, {"Status": "0xc000006a", "Workstation": "WS-12"}, "failure", "NTLM", None),
    ],
)
def test_windows_security_events_map(
    event_id: int, data: dict[str, str], outcome: str, auth: str | None, logon: str | None
) -> None:
    """4624/4625/4648/4768/4769/4776 become authentication events with outcome and type."""
    line = _win(
        event_id,
        TargetUserName="alice",
        TargetDomainName="FIRM",
        IpAddress="10.1.2.3",
        **data,
    )
    event = map_windows(line, CTX, "d")
    assert event.outcome.value == outcome
    assert event.auth_type == auth
    assert event.logon_type == logon
    assert event.user == "alice@FIRM"
    assert event.src_ip == "10.1.2.3"
    assert event.event_id == "DC01.firm.local:4711"


def test_windows_winlogbeat_shape_is_read() -> None:
    """Winlogbeat's nesting (winlog.event_id, winlog.event_data) is understood."""
    line = json.dumps(
        {
            "@timestamp": "2026-11-25T08:00:00.000Z",
            "winlog": {
                "event_id": "4624",
                "computer_name": "WS-9",
                "event_data": {"TargetUserName": "bob", "LogonType": "2"},
            },
        }
    )
    event = map_windows(line, CTX, "d")
    assert (event.user, event.dst_host, event.logon_type) == ("bob", "WS-9", "Interactive")


def test_lanl_lines_map_with_the_configured_epoch() -> None:
    """A LANL auth line's relative time is added to the epoch; ? becomes None."""
    ctx = MapContext(tenant_id="t1", source="lanl", now=NOW, epoch=datetime(2026, 1, 1, tzinfo=UTC))
    event = map_lanl("150885,U620@DOM1,U620@DOM1,C17693,C1003,NTLM,Network,LogOn,Success", ctx, "7")
    assert event.at == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=150885)
    assert (event.user, event.src_host, event.dst_host) == ("U620@DOM1", "C17693", "C1003")
    assert (event.auth_type, event.logon_type, event.action) == ("NTLM", "Network", "logon")
    unknown = map_lanl("1,C1$@DOM1,C1$@DOM1,C1,C1,?,?,TGS,Fail", ctx, "8")
    assert unknown.auth_type is None
    assert unknown.outcome is EventOutcome.FAILURE


def test_lanl_real_samples_all_map() -> None:
    """Every line of the LANL red-team and benign pieces maps (real data, outside this repo)."""
    if not LANL.exists():
        require_service("LANL data set", f"{LANL} not found")
    ctx = MapContext(tenant_id="t1", source="lanl", now=NOW, epoch=datetime(2026, 1, 1, tzinfo=UTC))
    for name in ("redteam_auth_events.txt", "benign_auth_sample.txt"):
        lines = (LANL / name).read_text().splitlines()
        events = [map_lanl(line, ctx, str(i)) for i, line in enumerate(lines)]
        assert len(events) == len(lines) > 1000


def test_syslog_5424_sshd_message() -> None:
    """An RFC 5424 record with structured data hands its MSG to the auth mapper."""
    raw = (
        '<38>1 2026-11-25T10:15:02.003Z bastion sshd 1234 - [meta x="a\\]b"] '
        "Failed password for root from 198.51.100.9 port 4000 ssh2"
    )
    event = map_syslog(raw, CTX, "y")
    assert (event.user, event.outcome, event.dst_host) == ("root", EventOutcome.FAILURE, "bastion")


def test_syslog_legacy_bsd_record() -> None:
    """An RFC 3164 record (``<PRI>Mmm dd ...``) is read too."""
    raw = "<86>Nov 25 10:15:02 bastion sshd[7]: Accepted password for ann from 10.0.0.9 port 2 ssh2"
    assert map_syslog(raw, CTX, "y").user == "ann"


@pytest.mark.parametrize(
    "raw", ["<38>1 - h sshd - - - msg", "<999>1 2026-11-25T10:00:00Z h a - - -", "hello"]
)
def test_syslog_malformed_records_are_refused(raw: str) -> None:
    """A nil timestamp, PRI above 191 or no header at all: refused, never raised otherwise."""
    with pytest.raises(Rejected):
        map_syslog(raw, CTX, "y")


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    [
        "time",
        "category",
        "action",
        "class_uid",
        "EventID",
        "TimeCreated",
        "EventData",
        "user",
        "winlog",
        "@timestamp",
        "status_id",
        "is_mfa",
        "bytes_out",
        "resources",
        "src_endpoint",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _JSONISH, max_size=8))
def test_json_mappers_only_ever_reject_structured_garbage(record: dict[str, object]) -> None:
    """Any JSON object: an event or a Rejected, never another exception."""
    line = json.dumps(record)
    for name in ("menshen", "ocsf", "windows"):
        with contextlib.suppress(Rejected):
            MAPPERS[name](line, CTX, "f")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_every_mapper_only_ever_rejects_arbitrary_text(text: str) -> None:
    """Any text at all, in every format: an event or a Rejected, never another exception."""
    for mapper in (*MAPPERS.values(), map_syslog):
        with contextlib.suppress(Rejected):
            mapper(text, CTX, "f")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters=",\n"), max_size=12),
        min_size=9,
        max_size=9,
    )
)
def test_lanl_mapper_only_rejects_nine_odd_fields(fields: list[str]) -> None:
    """Nine fields of anything: an event or a Rejected."""
    with contextlib.suppress(Rejected):
        map_lanl(",".join(fields), CTX, "f")
