"""Form bodies (application/x-www-form-urlencoded), parsed strictly."""

from __future__ import annotations

from urllib.parse import parse_qsl

from menshen.errors import InvalidInput

MAX_FIELDS = 20


def parse_form(body: bytes, content_type: str | None) -> dict[str, str]:
    """Single-valued fields; a repeated field, or a non-form body, is bad input."""
    if content_type is None or content_type.split(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        raise InvalidInput("expected a form body")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("malformed form body") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InvalidInput(f"field {key!r} given twice")
        fields[key] = value
    return fields
