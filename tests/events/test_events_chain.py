"""The hash chain: sealing, canonical form and tamper detection (pure, no store)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.errors import InvalidInput
from menshen.events.chain import (
    GENESIS_HASH,
    canonical,
    format_time,
    reference_canonical,
    row_hash,
    seal_batch,
    verify_chain,
)
from menshen.events.model import AuditEvent
from menshen.store.records import AuditRecord

from .conftest import T0, make_event


def _chain(n: int) -> list[AuditRecord]:
    return seal_batch(None, [make_event(i) for i in range(n)])


def test_first_row_links_to_the_genesis_hash() -> None:
    """The first row of a tenant has seq 1 and prev_hash of 64 zeros."""
    first = _chain(1)[0]
    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH == "0" * 64
    assert first.hash == row_hash(GENESIS_HASH, first)


def test_seal_batch_continues_after_the_last_row() -> None:
    """A second batch numbers on from the last row and links to its hash."""
    first = _chain(3)
    second = seal_batch(first[-1], [make_event(10), make_event(11)])
    assert [r.seq for r in second] == [4, 5]
    assert second[0].prev_hash == first[-1].hash
    assert verify_chain([*first, *second]).ok


def test_seal_batch_of_nothing_is_empty() -> None:
    """Sealing no events yields no rows."""
    assert seal_batch(None, []) == []


def test_seal_batch_refuses_mixed_tenants() -> None:
    """One sealed batch belongs to one tenant."""
    with pytest.raises(InvalidInput):
        seal_batch(None, [make_event(1), make_event(2, tenant_id="t2")])


def test_canonical_form_is_pinned() -> None:
    """Sorted keys, no spaces, UTC time with microseconds and Z, ASCII escapes."""
    event = AuditEvent(
        tenant_id="t1",
        kind="login.failure",
        outcome="failure",
        at=datetime(2026, 1, 5, 17, 0, 0, 5, tzinfo=timezone(timedelta(hours=8))),
        actor="林",
        details={"b": 1, "a": [True, None]},
        id="e1",
    )
    record = seal_batch(None, [event])[0]
    assert canonical(record) == (
        b'{"actor":"\\u6797","app":null,"at":"2026-01-05T09:00:00.000005Z",'
        b'"details":{"a":[true,null],"b":1},"id":"e1","ip":null,"kind":"login.failure",'
        b'"outcome":"failure","reason":null,"seq":1,"session_id":null,"subject":null,'
        b'"tenant_id":"t1"}'
    )


def test_verify_accepts_an_intact_chain() -> None:
    """An untouched chain verifies and reports its head."""
    rows = _chain(5)
    report = verify_chain(rows)
    assert report.ok
    assert report.count == 5
    assert report.last_seq == 5
    assert report.last_hash == rows[-1].hash


def test_verify_accepts_an_empty_chain() -> None:
    """No rows is a valid (empty) chain."""
    assert verify_chain([]).ok


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "access.deny"},
        {"outcome": "deny"},
        {"actor": "mallory"},
        {"ip": "198.51.100.1"},
        {"reason": None},
        {"details": {"n": 2, "path": "/admin"}},
        {"at": T0 + timedelta(seconds=1)},
        {"id": "forged"},
    ],
)
def test_verify_detects_a_modified_row(change: dict[str, object]) -> None:
    """Changing any hashed field of a row breaks its hash."""
    rows = _chain(5)
    rows[2] = dataclasses.replace(rows[2], **change)  # type: ignore[arg-type]
    report = verify_chain(rows)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.count == 2
    assert "modified" in (report.reason or "")


def test_verify_detects_a_deleted_row() -> None:
    """A missing row leaves a gap in seq."""
    rows = _chain(5)
    del rows[1]
    report = verify_chain(rows)
    assert not report.ok
    assert report.first_bad_seq == 2
    assert "missing" in (report.reason or "")


def test_verify_detects_reordered_rows() -> None:
    """Rows given out of seq order are refused."""
    rows = _chain(5)
    rows[1], rows[2] = rows[2], rows[1]
    report = verify_chain(rows)
    assert not report.ok
    assert report.first_bad_seq == 2


def test_verify_detects_swapped_seq_numbers() -> None:
    """Renumbering two rows (and re-sorting) breaks their hashes."""
    rows = _chain(5)
    a, b = rows[1], rows[2]
    rows[1] = dataclasses.replace(b, seq=2)
    rows[2] = dataclasses.replace(a, seq=3)
    report = verify_chain(rows)
    assert not report.ok
    assert report.first_bad_seq == 2


def test_verify_detects_a_changed_prev_hash() -> None:
    """A row whose prev_hash does not name the previous row breaks the link."""
    rows = _chain(4)
    rows[2] = dataclasses.replace(rows[2], prev_hash="f" * 64)
    report = verify_chain(rows)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert "link" in (report.reason or "")


def test_verify_detects_a_rehashed_row() -> None:
    """Re-hashing a forged row does not help: the next row still names the old hash."""
    rows = _chain(4)
    forged = dataclasses.replace(rows[1], actor="mallory")
    rows[1] = dataclasses.replace(forged, hash=row_hash(forged.prev_hash, forged))
    report = verify_chain(rows)
    assert not report.ok
    assert report.first_bad_seq == 3


def test_verify_detects_a_row_of_another_tenant() -> None:
    """A row copied from another tenant's chain is refused."""
    rows = _chain(3)
    other = seal_batch(rows[1], [make_event(9, tenant_id="t1")])[0]
    rows[2] = dataclasses.replace(other, tenant_id="t2")
    assert verify_chain(rows).first_bad_seq == 3


def test_verify_from_an_anchor() -> None:
    """A tail of the chain verifies from the row before it, and not from the genesis."""
    rows = _chain(6)
    assert verify_chain(rows[3:], anchor=rows[2]).ok
    assert not verify_chain(rows[3:]).ok


def test_seal_cleans_text_the_store_would_refuse() -> None:
    """NUL characters, lone surrogates and overlong fields never reach the store."""
    event = dataclasses.replace(
        make_event(1), actor="a\x00b", reason="\ud800x", ip="1" * 500, details={"k": "\x00"}
    )
    record = seal_batch(None, [event])[0]
    assert record.actor == "a\ufffdb"
    assert record.reason is not None
    record.reason.encode("utf-8")
    assert record.ip is not None
    assert len(record.ip) == 64
    assert record.details == {"k": "\ufffd"}


def test_seal_makes_details_json_values() -> None:
    """Non-JSON detail values are stored as text; integral floats as integers."""
    when = datetime(2026, 1, 5, tzinfo=UTC)
    event = dataclasses.replace(
        make_event(1),
        details={"when": when, "big": 1e16, "neg0": -0.0, "ratio": 0.5, "nan": float("nan")},
    )
    details = seal_batch(None, [event])[0].details
    assert details == {
        "when": "2026-01-05T00:00:00.000000Z",
        "big": 10**16,
        "neg0": 0,
        "ratio": 0.5,
        "nan": "nan",
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(details=st.dictionaries(st.text(), json_values, max_size=5), actor=st.text())
def test_a_sealed_row_survives_a_json_round_trip(details: dict[str, object], actor: str) -> None:
    """What the store writes as JSON and reads back hashes to the same value."""
    event = dataclasses.replace(make_event(1), details=details, actor=actor)
    record = seal_batch(None, [event])[0]
    reread = json.loads(json.dumps(record.details, ensure_ascii=False).encode("utf-8"))
    assert row_hash(record.prev_hash, dataclasses.replace(record, details=reread)) == record.hash


def test_row_hashes_are_pinned() -> None:
    """Rows sealed today hash exactly as rows sealed before the fast path (values pinned)."""
    events = [make_event(i) for i in range(3)]
    events.append(
        AuditEvent(
            tenant_id="t1",
            kind="login.failure",
            outcome="failure",
            at=datetime(2026, 1, 5, 17, 0, 0, tzinfo=timezone(timedelta(hours=8))),
            actor="林\x00",
            reason="x" * 5000,
            details={"nested": {"b": [1.5, 2.0, float("nan")], "a": "\ud800"}, 7: None},  # type: ignore[dict-item]
            id="e-odd",
        )
    )
    events.append(
        AuditEvent(
            tenant_id="t1", kind="logout", outcome="success", at=datetime(999, 1, 5, tzinfo=UTC)
        )
    )
    events[-1] = dataclasses.replace(events[-1], id="e-old")
    assert [r.hash for r in seal_batch(None, events)] == [
        "549f53b0d51dabc606a95f8f40bb225129d94333060c0ef1092a8941dbfbf199",
        "78d094d295e3e314bacb737a7917364a5977de17d80c7bf31e145eff1c867280",
        "4bd23cb5bcaa938c62757e490f2f7ae495be84ac35aec00e9715394b388de37a",
        "f95c1113088af4ed20b282586603c8a11d09a89c72b77bba6d6b3626c3c1368c",
        "a045a00f8a695739eeb68403458483328a0b5e999d579a6e069dc4910ff84742",
    ]


optional_text = st.none() | st.text()


@given(
    details=st.dictionaries(st.text(), json_values, max_size=5),
    actor=optional_text,
    app=optional_text,
    reason=optional_text,
    ip=optional_text,
    at=st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9998, 1, 1), timezones=st.timezones()
    ),
)
def test_canonical_equals_its_json_dumps_definition(
    details: dict[str, object],
    actor: str | None,
    app: str | None,
    reason: str | None,
    ip: str | None,
    at: datetime,
) -> None:
    """The key-by-key canonical text is byte for byte json.dumps of the row's fields."""
    event = dataclasses.replace(
        make_event(1), details=details, actor=actor, app=app, reason=reason, ip=ip, at=at
    )
    record = seal_batch(None, [event])[0]
    assert canonical(record) == reference_canonical(record)
    assert row_hash(record.prev_hash, record) == record.hash


@given(
    value=st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.lists(st.text())
)
def test_canonical_of_a_row_with_a_non_text_field_equals_its_definition(value: object) -> None:
    """A field of an unexpected type (a row altered by hand) canonicalises as json.dumps does."""
    record = dataclasses.replace(_chain(1)[0], actor=value, seq=True if value is True else 1)  # type: ignore[arg-type]
    assert canonical(record) == reference_canonical(record)


@given(
    at=st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 1, 1),
        timezones=st.one_of(st.none(), st.timezones()),
    )
)
def test_format_time_equals_strftime(at: datetime) -> None:
    """The fast time format is the strftime one, for every year and microsecond."""
    utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    assert format_time(at) == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
