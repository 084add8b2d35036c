"""HTML pages and JSON problems the gateway answers with itself."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from menshen.gateway.contract import Headers, Respond

# A page of the gateway's own runs no script and can only post forms back to itself.
# Referrer-Policy is same-origin, not no-referrer: under no-referrer browsers send
# "Origin: null" with form posts, which the CSRF origin check must refuse.
_PAGE_HEADERS: Headers = (
    ("content-type", "text/html; charset=utf-8"),
    ("cache-control", "no-store"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
)
# Pages that run the passkey ceremony load one script from the gateway itself and may
# fetch() their own JSON endpoints; still no inline script and nothing from elsewhere.
_SCRIPT_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_SCRIPT_PAGE_HEADERS: Headers = tuple(
    ("content-security-policy", _SCRIPT_CSP) if key == "content-security-policy" else (key, value)
    for key, value in _PAGE_HEADERS
)


class Pages:
    def __init__(self, firm_names: dict[str, str]) -> None:
        self._env = Environment(
            loader=PackageLoader("menshen.access", "templates"),
            autoescape=select_autoescape(["html"]),
            auto_reload=False,
        )
        self._firms = dict(firm_names)

    def set_firm_names(self, firm_names: dict[str, str]) -> None:
        self._firms = dict(firm_names)

    def render(
        self,
        template: str,
        *,
        tenant_id: str,
        status: int = 200,
        set_cookies: tuple[str, ...] = (),
        scripts: bool = False,
        **context: Any,
    ) -> Respond:
        page = self._env.get_template(template).render(
            lang="en", firm=self._firms.get(tenant_id, tenant_id), **context
        )
        base = _SCRIPT_PAGE_HEADERS if scripts else _PAGE_HEADERS
        headers = base + tuple(("set-cookie", c) for c in set_cookies)
        return Respond(status, headers, page.encode("utf-8"))

    def message(
        self, *, tenant_id: str, status: int, heading: str, message: str, link: str = "/"
    ) -> Respond:
        return self.render(
            "message.html",
            tenant_id=tenant_id,
            status=status,
            title=heading,
            heading=heading,
            message=message,
            link=link,
            link_text="Continue",
        )


def redirect(location: str, *, set_cookies: tuple[str, ...] = ()) -> Respond:
    headers: Headers = (
        ("location", location),
        ("cache-control", "no-store"),
        *(("set-cookie", c) for c in set_cookies),
    )
    return Respond(302, headers, b"")


def json_response(status: int, body: Any, *, set_cookies: tuple[str, ...] = ()) -> Respond:
    """A JSON answer to one of the gateway's own fetch() calls (never cached)."""
    headers: Headers = (
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        *(("set-cookie", c) for c in set_cookies),
    )
    return Respond(status, headers, json.dumps(body, separators=(",", ":")).encode())


def problem_json(
    status: int, title: str, detail: str, *, type_: str = "about:blank", **extra: Any
) -> Respond:
    """RFC 9457 problem details."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update(extra)
    headers: Headers = (
        ("content-type", "application/problem+json"),
        ("cache-control", "no-store"),
    )
    return Respond(status, headers, json.dumps(body, separators=(",", ":")).encode())


def wants_html(accept: str | None) -> bool:
    """Browser navigations ask for HTML; XHR/fetch and API clients get JSON (a 302 breaks them)."""
    if not accept:
        return False
    lowered = accept.lower()
    return "text/html" in lowered and "application/json" not in lowered
