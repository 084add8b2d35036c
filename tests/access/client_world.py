"""Two firms with machine clients, a guard and a token endpoint, all in memory (no sockets)."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass

from menshen.access.audit import Context
from menshen.access.client_auth import ClientGate
from menshen.access.client_tokens import AccessTokens
from menshen.access.directory import Directory, Route
from menshen.access.guard import Guard
from menshen.access.oauth_token import TOKEN_PATH, TokenEndpoint
from menshen.access.pages import Pages
from menshen.access.returnto import ReturnSigner
from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.crypto import SecretBox
from menshen.events.model import AuditEvent
from menshen.gateway.contract import Handle, RequestHead, Respond, Upstream, Verdict
from menshen.identity.clients import API_KEY, MachineClientService, SecretHasher, load_roster
from menshen.identity.lockout import Lockout
from menshen.identity.throttle import DEFAULT_THROTTLE
from menshen.policy.compile import compile_policies
from menshen.policy.model import AppPolicy, Effect, Rule
from menshen.sessions.service import SessionService, SessionTimeouts
from menshen.store.records import TenantRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock

UPSTREAM = Upstream("127.0.0.1", 9001)
HOSTS = {"t1": "api.one.example", "t2": "api.two.example"}
ISSUER = "menshen"


@dataclass(frozen=True, slots=True)
class Made:
    name: str
    secret: str
    credential_id: str


class ClientWorld:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.clock = FixedClock()
        self.events: list[AuditEvent] = []
        self.hasher = SecretHasher(b"h" * 32)
        store.add_tenant(TenantRecord("t2", "Tenant Two", self.clock.now()))
        self.keyrings: dict[str, Keyring] = {}
        self.minters: dict[str, AssertionMinter] = {}
        self.services: dict[str, MachineClientService] = {}
        for tenant_id in ("t1", "t2"):
            keyring = Keyring(store.tenant(tenant_id), SecretBox(b"k" * 32), self.clock)
            keyring.ensure_key()
            self.keyrings[tenant_id] = keyring
            self.minters[tenant_id] = AssertionMinter(keyring, ISSUER, self.clock)
            self.services[tenant_id] = MachineClientService(
                store.tenant(tenant_id).machine_clients, tenant_id, self.hasher, self.clock
            )
        self.tokens = AccessTokens(ISSUER, self.clock)
        self.gate = ClientGate(
            tokens=self.tokens,
            hasher=self.hasher,
            keyring=self.keyrings.get,
            minters=self.minters,
            publish=self.events.append,
        )
        self.endpoint = TokenEndpoint(
            clients=self.services.__getitem__,
            lockout=lambda tenant_id: Lockout(
                store.tenant(tenant_id).throttle, tenant_id, DEFAULT_THROTTLE
            ),
            keyring=self.keyrings.get,
            tokens=self.tokens,
            publish=self.events.append,
            clock=self.clock,
        )
        self.guard = Guard(
            sessions=SessionService(store, self.clock, SessionTimeouts()),
            minters=self.minters,
            pages=Pages({"t1": "One", "t2": "Two"}),
            signer=ReturnSigner(b"s" * 32),
            publish=self.events.append,
            clock=self.clock,
            own_endpoints=lambda head: Respond(299),
            clients=self.gate,
        )
        rules = (
            Rule("no-payouts", Effect.DENY, path_prefixes=("/ledger/payouts",)),
            Rule("bank-a-reads", clients=frozenset({"bank-a"}), methods=frozenset({"GET"})),
            Rule(
                "reports-need-scope",
                clients=frozenset({"bank-b"}),
                path_prefixes=("/ledger/reports",),
                scopes=frozenset({"reports:read"}),
            ),
            Rule("everyone-signed-in", path_prefixes=("/ledger/public",)),
        )
        policies = {
            tenant_id: compile_policies(tenant_id, [AppPolicy("ledger", rules)])
            for tenant_id in ("t1", "t2")
        }
        routes = [
            Route(tenant_id, "ledger", "Ledger", host, "/ledger", UPSTREAM)
            for tenant_id, host in HOSTS.items()
        ]
        self.guard.set_directory(Directory(routes, {}, policies, {"t1": "One", "t2": "Two"}))

    # -- set-up -------------------------------------------------------------------------
    def make(self, name: str, tenant_id: str = "t1", **options: object) -> Made:
        record, issued = self.services[tenant_id].create(name, by="test", **options)  # type: ignore[arg-type]
        self.refresh()
        return Made(record.name, issued.value, issued.record.id)

    def api_key(self, name: str, tenant_id: str = "t1") -> str:
        issued = self.services[tenant_id].rotate(name, kind=API_KEY)
        self.refresh()
        return issued.value

    def refresh(self) -> list[str]:
        """What the gateway's state refresh does after a change: swap in the snapshots."""
        return self.gate.set_rosters(
            {t: load_roster(self.store.tenant(t).machine_clients, t) for t in ("t1", "t2")},
            self.clock.now(),
        )

    # -- requests -----------------------------------------------------------------------
    def head(
        self,
        path: str,
        headers: list[tuple[str, str]],
        *,
        tenant_id: str = "t1",
        method: str = "GET",
        scheme: str = "http",
        ip: str = "127.0.0.1",
    ) -> RequestHead:
        return RequestHead(
            method=method,
            path=path,
            query="",
            host=HOSTS[tenant_id],
            port=80,
            scheme=scheme,  # type: ignore[arg-type]
            headers=tuple(headers),
            client_ip=ip,
            peer_ip=ip,
        )

    def call(self, path: str, credential: str, *, header: str = "bearer", **kw: str) -> Verdict:
        """An API request with a bearer token / API key (``header="x-api-key"`` for that)."""
        if header == "bearer":
            fields = [("authorization", f"Bearer {credential}")]
        else:
            fields = [("x-api-key", credential)]
        return self.guard.check(self.head(path, [("accept", "application/json"), *fields], **kw))

    def post_token(
        self,
        form: str,
        *,
        basic: tuple[str, str] | None = None,
        tenant_id: str = "t1",
        ip: str = "127.0.0.1",
        scheme: str = "http",
        content_type: str = "application/x-www-form-urlencoded",
    ) -> Respond:
        headers = [("content-type", content_type)]
        if basic is not None:
            raw = f"{basic[0]}:{basic[1]}".encode()
            headers.append(("authorization", "Basic " + base64.b64encode(raw).decode()))
        head = self.head(
            TOKEN_PATH, headers, tenant_id=tenant_id, method="POST", ip=ip, scheme=scheme
        )
        verdict = self.endpoint.token(Context(head, tenant_id))
        assert isinstance(verdict, Handle)
        handler = verdict.handler

        async def answer() -> Respond:
            return await handler(head, form.encode())

        return asyncio.run(answer())

    def token_for(self, made: Made, tenant_id: str = "t1", scope: str | None = None) -> str:
        form = "grant_type=client_credentials" + ("" if scope is None else f"&scope={scope}")
        answer = self.post_token(form, basic=(made.name, made.secret), tenant_id=tenant_id)
        assert answer.status == 200, answer.body
        return str(json.loads(answer.body)["access_token"])

    def last_reason(self) -> str:
        return str(self.events[-1].reason)
