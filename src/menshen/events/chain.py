"""The hash chain of the audit log (tamper evidence in the manner of RFC 6962 §2's
append-only log, NIST SP 800-92 §4.3 log integrity).

Each row carries ``hash = sha256(prev_hash || canonical(row))`` as lower-case hex, where
``prev_hash`` is the previous row's hash (64 zeros for the first row of a tenant) and
``canonical(row)`` is the row as JSON with sorted keys, no whitespace, ASCII-escaped text,
and times as ISO-8601 UTC with microseconds (``2026-01-05T09:00:00.000000Z``). The sequence
number and the tenant are part of the hashed content, so a row cannot be moved, renumbered or
copied to another tenant without breaking its hash.

Pure functions only: sealing a batch and verifying a run of rows need no store.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from menshen.errors import InvalidInput
from menshen.events.model import AuditEvent
from menshen.store.records import AuditRecord

GENESIS_HASH = "0" * 64
_MAX_DEPTH = 32
# Column sizes of the audit table (menshen.store.schema): longer text, often chosen by a
# client (a typed username, a forged IP header), is cut here so that no event can be
# refused by the store and block the log behind it.
_ID_LIMIT = 128
_NAME_LIMIT = 255
_IP_LIMIT = 64
_REASON_LIMIT = 4096
_DETAIL_TEXT_LIMIT = 4096
# The json module's own encoders (C), so that the canonical text written out key by key is
# exactly what json.dumps would make: constants, configured once, holding no state.
_quote = json.encoder.encode_basestring_ascii
_DETAILS_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


def format_time(at: datetime) -> str:
    """ISO-8601 in UTC with microseconds and a ``Z``; a naive time is taken as UTC."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if at.year < 1000:
        return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # %Y does not pad years before 1000
    # The same text, faster: isoformat gives "2026-01-05T09:00:00.000005+00:00", without
    # the fraction when it is zero.
    text = at.isoformat()
    return f"{text[:-6]}Z" if at.microsecond else f"{text[:-6]}.000000Z"


def record_fields(record: AuditRecord) -> dict[str, Any]:
    """The hashed content of a row (everything but ``prev_hash`` and ``hash``)."""
    return {
        "tenant_id": record.tenant_id,
        "seq": record.seq,
        "id": record.id,
        "at": format_time(record.at),
        "kind": record.kind,
        "outcome": record.outcome,
        "actor": record.actor,
        "subject": record.subject,
        "app": record.app,
        "ip": record.ip,
        "session_id": record.session_id,
        "reason": record.reason,
        "details": record.details,
    }


def reference_canonical(record: AuditRecord) -> bytes:
    """The canonical form by definition: ``json.dumps`` of ``record_fields``.

    ``canonical`` makes the same bytes faster; this is the yardstick it is tested against.
    """
    return json.dumps(
        record_fields(record),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    ).encode("ascii")


def canonical(record: AuditRecord) -> bytes:
    """The canonical JSON bytes of a row's hashed content."""
    return _canonical_text(record).encode("ascii")


def row_hash(prev_hash: str, record: AuditRecord) -> str:
    """``sha256(prev_hash || canonical(record))`` as lower-case hex."""
    return _hash(prev_hash, _canonical_text(record))


def seal_batch(last: AuditRecord | None, events: Sequence[AuditEvent]) -> list[AuditRecord]:
    """Number and hash ``events`` so that they continue the chain after ``last``.

    All events must belong to one tenant (and to ``last``'s tenant). Text is cleaned so that
    every row can be stored as given by SQLite and PostgreSQL alike (no NUL characters, no
    lone surrogates) and read back to the same canonical bytes.
    """
    if not events:
        return []
    tenant_id = last.tenant_id if last is not None else events[0].tenant_id
    seq = last.seq if last is not None else 0
    prev = last.hash if last is not None else GENESIS_HASH
    tenant = _text(tenant_id)
    sealed: list[AuditRecord] = []
    append = sealed.append
    for event in events:
        if event.tenant_id != tenant_id:
            raise InvalidInput("a sealed batch must hold the events of one tenant")
        seq += 1
        at = event.at.astimezone(UTC)
        event_id = _text(event.id)
        kind = _text(event.kind)
        outcome = _text(event.outcome)
        actor = _opt_text(event.actor, _NAME_LIMIT)
        subject = _opt_text(event.subject, _NAME_LIMIT)
        app = _opt_text(event.app, _NAME_LIMIT)
        ip = _opt_text(event.ip, _IP_LIMIT)
        session_id = _opt_text(event.session_id, _ID_LIMIT)
        reason = _opt_text(event.reason, _REASON_LIMIT)
        details = _json_object(event.details)
        text = _fields_text(
            tenant,
            seq,
            event_id,
            format_time(at),
            kind,
            outcome,
            actor,
            subject,
            app,
            ip,
            session_id,
            reason,
            details,
        )
        digest = _hash(prev, text)
        # Positional, in AuditRecord's field order: a quarter cheaper than by keyword.
        append(
            AuditRecord(
                tenant,
                seq,
                event_id,
                at,
                kind,
                outcome,
                actor,
                subject,
                app,
                ip,
                session_id,
                reason,
                details,
                prev,
                digest,
            )
        )
        prev = digest
    return sealed


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of verifying a chain: ``ok`` or where and why it first broke."""

    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS_HASH


def verify_chain(
    records: Iterable[AuditRecord], *, anchor: AuditRecord | None = None
) -> ChainReport:
    """Check that ``records`` (in seq order) form an unbroken chain.

    Detects a changed row (its hash no longer matches its content), a deleted row (a gap in
    seq), rows out of order, a changed ``prev_hash`` and rows of another tenant. Without
    ``anchor`` the chain must start at seq 1 from the genesis hash; with it, right after it.
    Truncation of the newest rows leaves a valid shorter chain: compare ``last_seq`` and
    ``last_hash`` with a value kept elsewhere (an earlier export) to detect it.
    """
    expected_seq = anchor.seq + 1 if anchor is not None else 1
    expected_prev = anchor.hash if anchor is not None else GENESIS_HASH
    tenant_id = anchor.tenant_id if anchor is not None else None
    count = 0
    for record in records:
        if tenant_id is None:
            tenant_id = record.tenant_id
        problem = _check(record, expected_seq, expected_prev, tenant_id)
        if problem is not None:
            bad_seq, reason = problem
            return ChainReport(
                ok=False,
                count=count,
                first_bad_seq=bad_seq,
                reason=reason,
                last_seq=expected_seq - 1,
                last_hash=expected_prev,
            )
        count += 1
        expected_seq += 1
        expected_prev = record.hash
    return ChainReport(ok=True, count=count, last_seq=expected_seq - 1, last_hash=expected_prev)


def _check(
    record: AuditRecord, expected_seq: int, expected_prev: str, tenant_id: str
) -> tuple[int, str] | None:
    if record.tenant_id != tenant_id:
        return record.seq, f"row {record.seq} belongs to another tenant"
    if record.seq > expected_seq:
        return expected_seq, f"row {expected_seq} is missing (next row found is {record.seq})"
    if record.seq < expected_seq:
        return record.seq, f"row {record.seq} is out of order (expected {expected_seq})"
    if record.prev_hash != expected_prev:
        return record.seq, f"row {record.seq} does not link to the previous row's hash"
    try:
        actual = row_hash(record.prev_hash, record)
    except (TypeError, ValueError):
        return record.seq, f"row {record.seq} cannot be canonicalised"
    if actual != record.hash:
        return record.seq, f"row {record.seq} was modified (hash mismatch)"
    return None


def _hash(prev_hash: str, text: str) -> str:
    return hashlib.sha256((prev_hash + text).encode("ascii")).hexdigest()


def _canonical_text(record: AuditRecord) -> str:
    at = format_time(record.at)
    if type(record.seq) is int:
        try:
            return _fields_text(
                record.tenant_id,
                record.seq,
                record.id,
                at,
                record.kind,
                record.outcome,
                record.actor,
                record.subject,
                record.app,
                record.ip,
                record.session_id,
                record.reason,
                record.details,
            )
        except TypeError:
            pass  # a field that is not text (a row altered outside menshen): the long way
    return reference_canonical(record).decode("ascii")


def _fields_text(
    tenant_id: str,
    seq: int,
    event_id: str,
    at: str,
    kind: str,
    outcome: str,
    actor: str | None,
    subject: str | None,
    app: str | None,
    ip: str | None,
    session_id: str | None,
    reason: str | None,
    details: Mapping[str, Any],
) -> str:
    """The canonical JSON written out key by key, in sorted key order.

    Byte for byte what ``reference_canonical`` makes when every text field is a ``str`` or
    None and ``seq`` an ``int`` (each value goes through the ``json`` module's own
    encoders), at a fraction of the cost; a field of another type raises TypeError.
    """
    q = _quote
    return (
        f'{{"actor":{"null" if actor is None else q(actor)}'
        f',"app":{"null" if app is None else q(app)}'
        f',"at":{q(at)}'
        f',"details":{_DETAILS_ENCODER.encode(details)}'
        f',"id":{q(event_id)}'
        f',"ip":{"null" if ip is None else q(ip)}'
        f',"kind":{q(kind)}'
        f',"outcome":{q(outcome)}'
        f',"reason":{"null" if reason is None else q(reason)}'
        f',"seq":{int.__repr__(seq)}'
        f',"session_id":{"null" if session_id is None else q(session_id)}'
        f',"subject":{"null" if subject is None else q(subject)}'
        f',"tenant_id":{q(tenant_id)}}}'
    )


def _text(value: str, limit: int | None = None) -> str:
    # Nearly all text is short ASCII without NUL: nothing to clean (isascii is O(1)).
    if value.isascii() and "\x00" not in value and (limit is None or len(value) <= limit):
        return value
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "\u2026"
    # PostgreSQL refuses NUL in text and json; a lone surrogate cannot be encoded as UTF-8.
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _opt_text(value: str | None, limit: int) -> str | None:
    if value is None or (value.isascii() and "\x00" not in value and len(value) <= limit):
        return value
    return _text(value, limit)


def _json_object(details: Mapping[str, object]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if type(key) is not str or not key.isascii() or "\x00" in key or len(key) > _NAME_LIMIT:
            key = _text(str(key), _NAME_LIMIT)
        if type(value) is str and value.isascii() and "\x00" not in value:
            clean[key] = (
                value if len(value) <= _DETAIL_TEXT_LIMIT else _text(value, _DETAIL_TEXT_LIMIT)
            )
        else:
            clean[key] = _json_value(value, 1)
    return clean


def _json_value(value: object, depth: int) -> Any:
    """A JSON value that survives a store round trip unchanged; others become strings."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        # PostgreSQL jsonb reads 1e+16 back as an integer and -0.0 as 0: store integral
        # floats as integers so that the row reads back to the same canonical bytes.
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        return _text(value, _DETAIL_TEXT_LIMIT)
    if depth >= _MAX_DEPTH:
        return _text(str(value), _DETAIL_TEXT_LIMIT)
    if isinstance(value, Mapping):
        return {_text(str(k), _NAME_LIMIT): _json_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item, depth + 1) for item in value]
    if isinstance(value, datetime):
        return format_time(value)
    return _text(str(value), _DETAIL_TEXT_LIMIT)
