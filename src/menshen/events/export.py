"""Exporting and verifying a tenant's audit log (JSON Lines, https://jsonlines.org/).

Each line is one row as a JSON object: the hashed fields (see ``menshen.events.chain``) plus
``prev_hash`` and ``hash``, so an auditor can re-verify an export without menshen's database
(``read_jsonl`` + ``verify_chain``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, TextIO

from menshen.errors import InvalidInput
from menshen.events.chain import ChainReport, record_fields, verify_chain
from menshen.events.writer import TenantAudit
from menshen.store.records import AuditRecord


def record_to_json(record: AuditRecord) -> dict[str, Any]:
    """A row as the JSON object written to an export line."""
    obj = record_fields(record)
    obj["prev_hash"] = record.prev_hash
    obj["hash"] = record.hash
    return obj


def export_jsonl(tenant_store: TenantAudit, out: TextIO, after_seq: int = 0) -> int:
    """Write the tenant's rows with seq > ``after_seq``, one JSON object per line; returns
    the number of rows written."""
    count = 0
    for record in tenant_store.audit.iterate(after_seq=after_seq):
        out.write(json.dumps(record_to_json(record), sort_keys=True, ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


def read_jsonl(lines: Iterable[str]) -> Iterator[AuditRecord]:
    """Parse the lines of an export back into rows (blank lines are skipped)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            yield _record_from_json(obj)
        except (ValueError, TypeError, KeyError) as error:
            raise InvalidInput(f"line {number}: not an audit row ({error})") from None


def verify(tenant_store: TenantAudit) -> ChainReport:
    """Verify the tenant's whole chain as stored."""
    return verify_chain(tenant_store.audit.iterate())


def _record_from_json(obj: Any) -> AuditRecord:
    if not isinstance(obj, dict) or not isinstance(obj.get("details"), dict):
        raise TypeError("expected an object with a details object")
    seq = obj["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TypeError("seq must be an integer")
    return AuditRecord(
        tenant_id=_str(obj, "tenant_id"),
        seq=seq,
        id=_str(obj, "id"),
        at=_time(_str(obj, "at")),
        kind=_str(obj, "kind"),
        outcome=_str(obj, "outcome"),
        actor=_opt_str(obj, "actor"),
        subject=_opt_str(obj, "subject"),
        app=_opt_str(obj, "app"),
        ip=_opt_str(obj, "ip"),
        session_id=_opt_str(obj, "session_id"),
        reason=_opt_str(obj, "reason"),
        details=obj["details"],
        prev_hash=_str(obj, "prev_hash"),
        hash=_str(obj, "hash"),
    )


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string")
    return value


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} must be a string or null")
    return value


def _time(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError("time must carry a zone")
    return at
