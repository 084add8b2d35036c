"""Ingestion inside the real gateway: its own events, the bytes it sent, HTTP JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from menshen.app import Server
from menshen.monitor.ingest.http_endpoint import INGEST_PATH
from menshen.monitor.ingest.sink import CollectingSink
from menshen.monitor.model import Category
from menshen.settings import Settings
from tests.e2e.harness import form_fields
from tests.monitor.app_stack import PASSWORD, AppStack

DOWNLOAD = 100_000
TOKEN = "msrc_" + "k" * 40


class _Stack(AppStack):
    """The real server with its monitor engine off and a collecting sink for ingestion."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, token=TOKEN, body=b"x" * DOWNLOAD)
        self.sink = CollectingSink()

    def settings(self, base: Settings) -> Settings:
        return replace(base, monitor_engine=False)

    def prepare(self, server: Server) -> None:
        assert server.ingest is not None
        server.ingest.pipeline.sink = self.sink


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[_Stack]:
    running = _Stack(tmp_path / "data")
    running.run(running.start())
    try:
        yield running
    finally:
        running.close()


def test_gateway_events_and_bytes_sent_reach_the_sink(stack: _Stack) -> None:
    """A sign-in and a download through the gateway arrive as login, access and transfer
    events; the transfer carries the response bytes the data plane counted."""
    json_accept = {"accept": "application/json"}
    with httpx.Client(base_url=stack.url, follow_redirects=False) as client:
        first = client.get("/files/report", headers={"accept": "text/html"})
        page = client.get(first.headers["location"])
        login = client.post(
            "/.menshen/login",
            data={**form_fields(page.text), "username": "dana", "password": PASSWORD},
        )
        assert login.status_code == 302
        download = client.get("/files/export.zip", headers=json_accept)
        assert len(download.content) == DOWNLOAD
    server = stack.server
    assert server is not None
    assert server.ingest is not None
    assert server.ingest.transfer
    transfer = server.ingest.transfer

    async def report() -> int:
        return transfer.report()

    assert stack.run(report()) == 1
    stack.wait_for(lambda: any(e.category is Category.TRANSFER for e in stack.sink.events))
    kinds = {(e.category, e.action) for e in stack.sink.events}
    assert (Category.AUTHENTICATION, "login") in kinds
    assert (Category.ACCESS, "allow") in kinds
    sent = [e for e in stack.sink.events if e.category is Category.TRANSFER]
    assert sent[0].bytes_out == DOWNLOAD
    assert sent[0].user == stack.user_id


def test_json_lines_over_http_with_a_source_token(stack: _Stack) -> None:
    """A registered source's lines are accepted (202) and delivered; a bad token gets 401."""
    line = {
        "time": "2026-11-25T08:59:00Z",
        "category": "authentication",
        "action": "vpn_login",
        "user": "dana",
        "src_ip": "203.0.113.5",
        "id": "vpn-1",
    }
    body = json.dumps(line) + "\n" + '{"time": "1970-01-01T00:00:00Z"'
    with httpx.Client(base_url=stack.url) as client:
        answer = client.post(
            INGEST_PATH, content=body, headers={"authorization": f"Bearer {TOKEN}"}
        )
        assert answer.status_code == 202
        assert answer.json() == {"accepted": 1, "rejected": 1}
        refused = client.post(
            INGEST_PATH, content=body, headers={"authorization": "Bearer msrc_" + "z" * 40}
        )
        assert refused.status_code == 401
    stack.wait_for(lambda: any(e.event_id == "vpn-1" for e in stack.sink.events))
    event = next(e for e in stack.sink.events if e.event_id == "vpn-1")
    assert (event.source, event.src_ip) == ("vpn", "203.0.113.5")
