"""WebSocket pass-through and revocation (reference: tunnels must die with the session)."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus

from menshen.gateway.contract import Forward, RequestHead, Respond, Upstream, Verdict

from .upstreams import harness, run

pytestmark = pytest.mark.e2e


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


def test_websocket_echo_then_close_session_closes_the_tunnel() -> None:
    """Messages pass both ways; revoking the session closes the client with 1008."""

    async def scenario() -> None:
        async with serve(_echo, "127.0.0.1", 0) as ws_server:
            ws_port = ws_server.sockets[0].getsockname()[1]

            def decide(head: RequestHead) -> Verdict:
                assert head.is_websocket
                return Forward(Upstream("127.0.0.1", ws_port), session_id="s1")

            async with harness(decide=decide) as h:
                async with connect(f"ws://127.0.0.1:{h.port}/socket") as client:
                    await client.send("hello")
                    assert await asyncio.wait_for(client.recv(), 5) == "hello"
                    await client.send(b"\x00" * 70000)
                    assert len(await asyncio.wait_for(client.recv(), 5)) == 70000
                    assert h.gateway.close_session("other") == 0
                    assert h.gateway.close_session("s1") == 1
                    with pytest.raises(ConnectionClosed) as info:
                        await asyncio.wait_for(client.recv(), 5)
                    assert info.value.rcvd is not None
                    assert info.value.rcvd.code == 1008
                assert h.gateway.close_session("s1") == 0

    run(scenario())


def test_denied_websocket_upgrade_gets_the_guard_answer() -> None:
    """A Respond verdict on an upgrade is written and nothing is tunnelled."""

    def decide(head: RequestHead) -> Verdict:
        return Respond(403, (("Content-Type", "text/plain"),), b"no")

    async def scenario() -> None:
        async with harness(decide=decide) as h:
            with pytest.raises(InvalidStatus) as info:
                async with connect(f"ws://127.0.0.1:{h.port}/socket"):
                    pass
            assert info.value.response.status_code == 403

    run(scenario())


def test_upstream_refusing_the_upgrade_is_relayed() -> None:
    """An upstream that answers the handshake with a plain HTTP status is relayed."""

    async def scenario() -> None:
        async with harness() as h:
            with pytest.raises(InvalidStatus) as info:
                async with connect(f"ws://127.0.0.1:{h.port}/socket"):
                    pass
            assert info.value.response.status_code == 200

    run(scenario())
