"""The whole gateway in one process, driven without sockets, on a fixed clock.

``World`` opens a real ``Platform`` and ``Server`` (SQLite store, the demo firm's groups,
apps, policies and people, routed on ``login.example.test``) and hands request heads to the
guard exactly as the data plane would. ``Browser`` keeps cookies between requests. Because
time is a ``FixedClock``, tests can step past the five-minute re-authentication window or a
lockout without waiting. The software authenticator of ``tests/identity`` answers the
ceremonies, for ``https://login.example.test`` by default.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from menshen.app import Platform, Server
from menshen.demo.firm import FIRM_NAME, TENANT, DemoUser, seed
from menshen.events.model import AuditEvent
from menshen.gateway.contract import Forward, Handle, RequestHead, Respond
from menshen.identity import totp
from menshen.identity.passwords import PasswordHasher, PasswordParams
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.settings import Settings, TenantOptions
from menshen.testing import FixedClock
from tests.identity.test_passkeys_authenticator import ORIGIN, RP_ID, SoftPasskey

HOST = RP_ID
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
HTML = "text/html,application/xhtml+xml"
_ATTR = re.compile(r'(data-[a-z]+|name|value|href|id)="([^"]*)"')

# The demo's settlement policy plus one path that only a passkey opens (phishing-resistant
# MFA for payouts); the rest of the firm is as the demo seeds it.
PASSKEY_RULE = """\
apiVersion: menshen.dev/v1
kind: Policy
metadata: {name: settlement-access}
spec:
  app: settlement
  rules:
    - name: contractors-never
      effect: deny
      groups: [contractors]
    - name: payouts-need-a-passkey
      effect: step_up
      groups: [finance-ops, admins]
      paths: [/settlement/payouts]
      mfa: {methods: [webauthn], maxAge: 12h}
    - name: finance-ops-with-fresh-mfa
      groups: [finance-ops, admins]
      mfa: {required: true, maxAge: 12h}
"""

Answer = Respond | Forward


class World:
    def __init__(self, data_dir: Path, *, tenants: Mapping[str, TenantOptions] | None = None):
        self.clock = FixedClock()
        settings = Settings(
            data_dir=data_dir,
            database_url=None,
            tenant=TENANT,
            tenant_name=FIRM_NAME,
            listeners=(),
            tenants=dict(tenants or {}),
        )
        self.platform = Platform.open(settings, self.clock)
        self.platform.hasher = PasswordHasher(PasswordParams(memory_kib=64, time_cost=1))
        self.people: dict[str, DemoUser] = seed(
            self.platform,
            settlement_url="http://127.0.0.1:9",
            wiki_url="http://127.0.0.1:9",
            hosts=(HOST,),
        )
        self.server = Server(self.platform)
        self.events: list[AuditEvent] = []
        self.server.bus.subscribe(self.events.append)
        self.loop = asyncio.new_event_loop()
        self.reload()

    def reload(self) -> None:
        self.loop.run_until_complete(self.server.reload_directory())

    def apply(self, manifest: str) -> None:
        tenant = self.platform.store.tenant(TENANT)
        manifests = parse_manifests(manifest, "<test>", known_apps=None)
        apply_manifests(tenant, manifests, clock=self.clock)
        self.reload()

    def close(self) -> None:
        self.server.fetcher.close()
        self.loop.close()
        self.platform.close()

    def browser(self, ip: str = "198.51.100.7") -> Browser:
        return Browser(self, ip)

    def code(self, username: str) -> str:
        """A TOTP code of a fresh time step (the clock moves 30 s so no step is reused)."""
        self.clock.advance(30)
        secret = self.people[username].totp_secret
        assert secret is not None
        return totp.totp_at(totp.decode_secret(secret), self.clock.now())

    def audited(self, kind: str, reason: str | None = None) -> list[AuditEvent]:
        return [e for e in self.events if e.kind == kind and reason in (None, e.reason)]


class Browser:
    """One browser: a cookie jar and the requests it sends (same-origin by default)."""

    def __init__(self, world: World, ip: str) -> None:
        self.world = world
        self.ip = ip
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        headers: tuple[tuple[str, str], ...] = (),
        accept: str = HTML,
    ) -> Answer:
        parts = urlsplit(target)
        sent = [("host", HOST), ("user-agent", UA), ("accept", accept), *headers]
        if self.cookies:
            sent.append(("cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        head = RequestHead(
            method=method,
            path=parts.path,
            query=parts.query,
            host=HOST,
            port=443,
            scheme="https",
            headers=tuple(sent),
            client_ip=self.ip,
            peer_ip=self.ip,
        )
        verdict = self.world.server.guard.check(head)
        if isinstance(verdict, Handle):
            verdict = self.world.loop.run_until_complete(verdict.handler(head, body))
        if isinstance(verdict, Respond):
            for key, value in verdict.headers:
                if key == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
        return verdict

    def get(self, target: str) -> Answer:
        return self.request("GET", target)

    def post_form(self, target: str, fields: Mapping[str, str], *, origin: str = ORIGIN) -> Answer:
        headers = (("origin", origin), ("content-type", "application/x-www-form-urlencoded"))
        return self.request("POST", target, urlencode(fields).encode(), headers=headers)

    def post_json(self, target: str, data: Any, *, origin: str | None = ORIGIN) -> Answer:
        headers = [("content-type", "application/json")]
        if origin is not None:
            headers.append(("origin", origin))
        body = json.dumps(data).encode()
        return self.request("POST", target, body, headers=tuple(headers), accept="application/json")

    # -- flows ----------------------------------------------------------------------------
    def sign_in(self, username: str, target: str = "/wiki/") -> Answer:
        """Password, then a TOTP code if asked; the answer after the last form."""
        login = self.get(location(self.get(target)))
        answer = self.post_form(
            "/.menshen/login",
            {
                **fields(login),
                "username": username,
                "password": self.world.people[username].password,
            },
        )
        if "/.menshen/mfa" not in location(answer):
            return answer
        page = self.get(location(answer))
        return self.post_form("/.menshen/mfa", {**fields(page), "code": self.world.code(username)})

    def add_passkey(self, passkey: SoftPasskey, name: str, query: str = "") -> Answer:
        page = self.get(f"/.menshen/passkeys{query}")
        button = data_of(page, "add-passkey")
        base = {k: button[k] for k in ("csrf", "rd", "sig") if k in button}
        start = payload(self.post_json("/.menshen/passkey/register/options", base))
        options = json.dumps(start["publicKey"])
        return self.post_json(
            "/.menshen/passkey/register/verify",
            {
                **base,
                "ceremony_id": start["ceremony_id"],
                "name": name,
                "credential": passkey.create(options),
            },
        )

    def use_passkey(
        self, page: Answer, passkey: SoftPasskey, button_id: str, prefix: str
    ) -> Answer:
        """Press the passkey button of ``page`` (second factor, or passwordless sign-in)."""
        button = data_of(page, button_id)
        base = {k: button[k] for k in ("csrf", "rd", "sig")}
        start = payload(self.post_json(f"{prefix}/options", base))
        return self.post_json(
            f"{prefix}/verify",
            {
                **base,
                "ceremony_id": start["ceremony_id"],
                "credential": passkey.get(json.dumps(start["publicKey"])),
            },
        )


def location(answer: Answer) -> str:
    assert isinstance(answer, Respond), answer
    assert answer.status == 302, (answer.status, answer.body[:500])
    return dict(answer.headers)["location"]


def text(answer: Answer) -> str:
    assert isinstance(answer, Respond), answer
    return answer.body.decode()


def payload(answer: Answer) -> dict[str, Any]:
    assert isinstance(answer, Respond), answer
    assert answer.status == 200, (answer.status, answer.body[:500])
    data = json.loads(answer.body)
    assert isinstance(data, dict)
    return data


def fields(page: Answer) -> dict[str, str]:
    """The hidden inputs (csrf, rd, sig) of the first form of ``page``."""
    form = text(page).split("<form", 1)[1].split("</form>", 1)[0]
    found: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        attrs = dict(_ATTR.findall(tag))
        if 'type="hidden"' in tag and "name" in attrs:
            found[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return found


def data_of(page: Answer, element_id: str) -> dict[str, str]:
    """The ``data-*`` attributes of the element with ``element_id``."""
    body = text(page)
    start = body.index(f'id="{element_id}"')
    tag = body[body.rindex("<", 0, start) : body.index(">", start)]
    return {k[5:]: html.unescape(v) for k, v in _ATTR.findall(tag) if k.startswith("data-")}


def link_of(page: Answer, element_id: str) -> str:
    body = text(page)
    start = body.index(f'id="{element_id}"')
    tag = body[body.rindex("<", 0, start) : body.index(">", start)]
    return html.unescape(dict(_ATTR.findall(tag))["href"])
