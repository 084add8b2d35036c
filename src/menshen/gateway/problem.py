"""Problem details for HTTP APIs (RFC 9457): the gateway's own JSON error answers."""

from __future__ import annotations

import json
from http import HTTPStatus

from menshen.gateway.contract import Respond

__all__ = ["problem"]

_CONTENT_TYPE = "application/problem+json"


def problem(
    status: int, title: str, detail: str, type_: str = "about:blank", **extra: object
) -> Respond:
    """An ``application/problem+json`` response (RFC 9457 §3), never cached.

    ``extra`` members are added to the object (RFC 9457 §3.2); they must be JSON-serialisable
    and must not reuse the standard member names.
    """
    body: dict[str, object] = {"type": type_, "title": title, "status": status, "detail": detail}
    for key, value in extra.items():
        if key in body:
            raise ValueError(f"extension member {key!r} collides with a standard member")
        body[key] = value
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    headers = (("content-type", _CONTENT_TYPE), ("cache-control", "no-store"))
    return Respond(status=status, headers=headers, body=payload)


def status_problem(status: int, detail: str) -> Respond:
    """A problem whose title is the standard reason phrase of ``status``."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return problem(status, title, detail)
