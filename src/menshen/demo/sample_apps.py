"""Two small internal apps as a firm would run them behind menshen.

They trust nothing but the ``X-Menshen-Assertion`` JWT, which they verify against the
gateway's JWKS (``menshen.assertions.upstream``: fetched once, again on an unknown key id)
— the convenience headers are shown, never believed. Cloudflare's advice holds for menshen
too: a header's presence proves nothing; verify the signature, audience, issuer and expiry.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from menshen.assertions.upstream import JwksCache, UpstreamIdentity
from menshen.assertions.verify import AssertionVerifier
from menshen.clock import Clock


@dataclass(frozen=True, slots=True)
class SampleApp:
    name: str
    title: str
    prefix: str
    colour: str
    body: str


SETTLEMENT = SampleApp(
    name="settlement",
    title="Settlement admin",
    prefix="/settlement",
    colour="#9b1c1c",
    body=(
        "<h2>Today's settlement batches</h2><table id='batches'>"
        "<tr><th>Batch</th><th>Bank</th><th>Amount (TWD)</th><th>Status</th></tr>"
        "<tr><td>B-20261125-01</td><td>Bank A</td><td>12,480,000</td><td>sent</td></tr>"
        "<tr><td>B-20261125-02</td><td>Bank B</td><td>3,150,500</td><td>pending</td></tr>"
        "</table>"
    ),
)
WIKI = SampleApp(
    name="wiki",
    title="Team wiki",
    prefix="/wiki",
    colour="#1c4f9b",
    body="<h2>Pages</h2><ul><li>On-call runbook</li><li>Merchant onboarding</li></ul>",
)


def build_app(sample: SampleApp, *, jwks: JwksCache, issuer: str, clock: Clock) -> Starlette:
    verifier = AssertionVerifier(jwks.current, issuer=issuer, audience=sample.name, clock=clock)
    identity = UpstreamIdentity(verifier, jwks).claims

    async def page(request: Request) -> Response:
        claims = await identity(request.headers)
        if claims is None:
            return HTMLResponse("<h1>401</h1><p>No valid identity assertion.</p>", status_code=401)
        who = html.escape(str(claims.get("preferred_username")))
        email = html.escape(str(claims.get("email")))
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in sorted(claims.items())
        )
        body = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{sample.title}</title></head>"
            f"<body style='font-family:system-ui;margin:2rem'>"
            f"<h1 style='color:{sample.colour}'>{sample.title}</h1>"
            f"<p id='whoami'>Signed in as <strong>{who}</strong> ({email})</p>"
            f"{sample.body}<h2>Verified identity assertion</h2><table id='claims'>{rows}</table>"
            "<p><a href='/.menshen/'>Your account</a> · "
            "<a href='/.menshen/logout'>Sign out</a></p>"
            f"</body></html>"
        )
        return HTMLResponse(body)

    async def echo(request: Request) -> Response:
        claims = await identity(request.headers)
        return JSONResponse(
            {
                "verified": claims is not None,
                "claims": claims,
                "method": request.method,
                "raw_path": request.scope.get("raw_path", b"").decode("latin-1"),
                "query": request.scope.get("query_string", b"").decode("latin-1"),
                "headers": [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw
                ],
                "body_length": len(await request.body()),
            },
            status_code=200 if claims is not None else 401,
        )

    async def socket(websocket: WebSocket) -> None:
        claims = await identity(websocket.headers)
        if claims is None:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        await websocket.send_text(f"hello {claims.get('preferred_username')}")
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            await websocket.send_text(f"echo: {message.get('text', '')}")

    return Starlette(
        routes=[
            Route(f"{sample.prefix}/echo", echo, methods=["GET", "POST", "PUT", "DELETE"]),
            Route(f"{sample.prefix}/echo/{{rest:path}}", echo, methods=["GET", "POST"]),
            WebSocketRoute(f"{sample.prefix}/ws", socket),
            Route(sample.prefix, page),
            Route(f"{sample.prefix}/{{rest:path}}", page),
        ]
    )
