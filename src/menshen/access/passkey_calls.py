"""The checks every passkey ``fetch()`` call passes, and the pieces of its JSON answers.

The ceremony endpoints answer the gateway's own script only: the ``Origin`` header is
required (not merely checked when present, as for forms) and must name the origin the request
arrived on, and the body must be ``application/json`` (a cross-site form cannot send that
without a CORS preflight, which the gateway never grants). The RP ID is the host the browser is
on and the only accepted origin is the one the request arrived on; hosts not routed to a
tenant never get here, so a forged ``Host`` cannot pick another RP ID (W3C WebAuthn Level 2
§13.4.9, validating the origin of a credential).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from menshen.access.audit import Context
from menshen.access.csrf import same_origin
from menshen.access.pages import json_response
from menshen.gateway.contract import RequestHead, Respond
from menshen.identity.passkeys import CeremonyStart, PasskeyFailed, PasskeyService

__all__ = [
    "PasskeysFor",
    "credential_of",
    "json_call",
    "options_response",
    "origin_of",
    "service_for",
    "text_of",
]

# (tenant_id, rp_id, origin) -> the tenant's passkey service as seen from that origin.
PasskeysFor = Callable[[str, str, str], PasskeyService]


def origin_of(head: RequestHead) -> str:
    """The origin the request arrived on (scheme, host, and port unless the default)."""
    default = 443 if head.scheme == "https" else 80
    port = "" if head.port == default else f":{head.port}"
    return f"{head.scheme}://{head.host}{port}"


def service_for(passkeys: PasskeysFor, ctx: Context) -> PasskeyService:
    """The tenant's passkey service for the host and origin of this request."""
    return passkeys(ctx.tenant_id, ctx.head.host, origin_of(ctx.head))


def json_call(head: RequestHead, body: bytes) -> dict[str, Any] | None:
    """The JSON object of a same-origin fetch(); None when anything about it is off."""
    origin = head.header("origin")
    content_type = (head.header("content-type") or "").split(";")[0].strip().lower()
    if (
        origin is None
        or not same_origin(origin, scheme=head.scheme, host=head.host, port=head.port)
        or content_type != "application/json"
    ):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def options_response(start: CeremonyStart) -> Respond:
    """The options for ``navigator.credentials``, with the opaque ceremony id."""
    return json_response(
        200, {"ceremony_id": start.ceremony_id, "publicKey": json.loads(start.options_json)}
    )


def text_of(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def credential_of(data: dict[str, Any]) -> dict[str, Any]:
    """The browser's ``PublicKeyCredential`` (JSON); PasskeyFailed when missing."""
    value = data.get("credential")
    if not isinstance(value, dict):
        raise PasskeyFailed("malformed_credential")
    return value
