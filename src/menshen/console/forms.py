"""The console's forms: a POST changes something only when it provably came from the console.

Two independent checks (OWASP Cross-Site Request Forgery Prevention Cheat Sheet), both
required, so a request failing either changes nothing:

* **a token** in the form: HMAC-SHA256 over the gateway session behind the assertion
  (``sid``), the admin's subject and the form's own action path, under a key the console
  holds (``menshen.access.csrf.CsrfTokens``, the gateway's own helper). Another page, another
  admin or another session cannot reuse it; an assertion without ``sid`` gets no valid token.
* **the origin**: a browser's ``Sec-Fetch-Site`` (W3C Fetch Metadata) must say
  ``same-origin`` and its ``Origin`` (RFC 6454 §7) must be the origin the gateway served the
  page from (``X-Forwarded-Proto`` / ``X-Forwarded-Host``, which the gateway sets itself on
  every request it forwards), when sent.

Bodies are ``application/x-www-form-urlencoded`` (the console's pages run no script), at
most ``MAX_FORM_BYTES``, each field at most once.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.requests import Request

from menshen.access.csrf import CsrfTokens
from menshen.console.access import Admitted

__all__ = ["MAX_FORM_BYTES", "FormGuard", "posted", "read_form", "same_origin"]

MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 8
FORM_TYPE = "application/x-www-form-urlencoded"


class FormGuard:
    """Makes and checks the console's CSRF tokens (``key``: 32 random bytes, injected)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the console's form key needs at least 32 bytes")
        self._tokens = CsrfTokens(key)

    def token(self, user: Admitted, action: str) -> str:
        """The token for the form posting to ``action`` (its path), for this admin's session."""
        return self._tokens.token(_binding(user), f"console-form\x00{action}")

    def check(self, user: Admitted, action: str, presented: str | None) -> bool:
        binding = _binding(user)
        return self._tokens.check(binding, f"console-form\x00{action}", presented)


def _binding(user: Admitted) -> str:
    return f"{user.session_id}\x00{user.subject}" if user.session_id else ""


def same_origin(headers: Mapping[str, str], scheme: str) -> str | None:
    """None when the request may come from the console's own page; else why not."""
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return f"Sec-Fetch-Site is {site!r}"
    origin = headers.get("origin")
    if origin is None:
        return None  # not sent by older browsers; the token still has to match
    proto = headers.get("x-forwarded-proto") or scheme
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    if not host or origin.lower() != f"{proto}://{host}".lower():
        return f"Origin {origin[:100]!r} is not this console's"
    return None


async def read_form(request: Request) -> dict[str, str] | None:
    """The posted fields, or None when the body is not a small, plain form."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        return None
    fields = dict(pairs)
    return fields if len(fields) == len(pairs) else None


async def posted(request: Request, user: Admitted, guard: FormGuard) -> dict[str, str] | str:
    """The fields of a form posted from the console's own page, or why it is refused."""
    why = same_origin(request.headers, request.url.scheme)
    if why is not None:
        return why
    fields = await read_form(request)
    if fields is None:
        return "the body is not a small url-encoded form"
    if not guard.check(user, request.url.path, fields.pop("csrf", None)):
        return "missing or wrong form token"
    return fields
