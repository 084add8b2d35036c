"""Typed reads of untrusted JSON (RFC 8259): every wrong shape is a counted ``Rejected``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from menshen.monitor.ingest.reject import MapContext, Rejected, checked_time

__all__ = ["get_int", "get_obj", "get_str", "json_object", "parse_time"]

MAX_STRING = 1024


def json_object(raw: str) -> Mapping[str, Any]:
    """``raw`` parsed as one JSON object; truncated or non-object JSON is rejected."""
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise Rejected("bad_json", "nested too deeply") from exc
    except ValueError as exc:
        raise Rejected("bad_json", str(exc)[:120]) from exc
    if not isinstance(value, dict):
        raise Rejected("wrong_type", f"expected a JSON object, got {type(value).__name__}")
    return value


def get_obj(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The object at ``key``, or an empty mapping if absent; another type is rejected."""
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected("wrong_type", f"{key} must be an object")
    return value


def get_str(record: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    """A non-empty string (numbers are accepted as their text), capped in length."""
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise Rejected("missing_field", key)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Rejected("wrong_type", f"{key} must be a string")
    text = str(value)
    if len(text) > MAX_STRING:
        raise Rejected("field_too_long", key)
    return text


def get_int(record: Mapping[str, Any], key: str) -> int | None:
    """An integer (a string of digits too); floats, booleans and other types are rejected."""
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise Rejected("wrong_type", f"{key} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    raise Rejected("wrong_type", f"{key} must be an integer")


def parse_time(value: object, ctx: MapContext, key: str = "time") -> datetime:
    """RFC 3339 text, or epoch seconds / milliseconds (OCSF ``time`` is ms), checked."""
    if value is None:
        raise Rejected("missing_field", key)
    if isinstance(value, bool):
        raise Rejected("wrong_type", f"{key} must be a time")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise Rejected("bad_time", f"{key} is not finite")
        if abs(seconds) > 1e11:  # milliseconds since the epoch
            seconds /= 1000.0
        try:
            at = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise Rejected("bad_time", f"{key} out of range") from exc
        return checked_time(at, ctx)
    if not isinstance(value, str):
        raise Rejected("wrong_type", f"{key} must be a time")
    text = value.strip()
    if len(text) > 40:
        raise Rejected("bad_time", f"{key} too long")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Rejected("bad_time", f"{key} is not RFC 3339") from exc
    if at.tzinfo is None:
        raise Rejected("bad_time", f"{key} has no time zone")
    return checked_time(at, ctx)
