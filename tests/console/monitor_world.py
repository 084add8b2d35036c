"""Two tenants in one store, incidents, scores and actions in both, and the console of t1."""

from __future__ import annotations

import asyncio
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.assertions.upstream import JwksCache, UpstreamIdentity
from menshen.assertions.verify import AssertionVerifier
from menshen.console import Admitted, ConsoleConfig, build_console
from menshen.console.desk import MonitorDesk
from menshen.console.forms import FormGuard
from menshen.crypto import SecretBox
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent
from menshen.events.writer import AuditWriter
from menshen.identity.passwords import PasswordHasher
from menshen.identity.service import IdentityService
from menshen.monitor.incidents.book import IncidentBook
from menshen.monitor.model import Entity, EntityKind, Finding, Severity
from menshen.monitor.response.actions import ActionRunner
from menshen.monitor.response.live import LiveResponse
from menshen.monitor.response.model import ActionKind, PlannedAction
from menshen.monitor.risk import RiskRules
from menshen.segmentation.files import load_example
from menshen.sessions.service import SessionService, SessionTimeouts
from menshen.store.monitor_response import RiskScoreRecord
from menshen.store.records import AuditRecord, TenantRecord, UserRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.assertions.conftest import MASTER_KEY, MemoryTenantKeys

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ISSUER = "menshen"
FORM_KEY = bytes(range(32, 64))
ALICE = Entity(EntityKind.USER, "u-alice")
_CSRF = re.compile(r'action="([^"]+)">\s*<input type="hidden" name="csrf" value="([0-9a-f]*)"')


def finding(
    tenant_id: str = "t1",
    *,
    subject: Entity = ALICE,
    at: datetime = T0,
    severity: Severity = Severity.HIGH,
    summary: str = "downloaded 40x the usual volume",
    source_ip: str | None = "203.0.113.9",
) -> Finding:
    return Finding(
        tenant_id=tenant_id,
        detector="volume",
        subject=subject,
        at=at,
        severity=severity,
        confidence=1.0,
        summary=summary,
        evidence={"bytes": 117_440_512, "usual_p99": "2.1 MiB"},
        event_ids=("ev-1",),
        source_ip=source_ip,
    )


@dataclass
class MonitorConsole:
    store: SqlStore
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    live: LiveResponse = field(default_factory=LiveResponse)

    def __post_init__(self) -> None:
        self._ids = 0
        self.keyrings: dict[str, Keyring] = {}
        for tenant_id in ("t1", "t2"):
            self.store.add_tenant(TenantRecord(tenant_id, tenant_id.upper(), T0))
            ring = Keyring(MemoryTenantKeys(tenant_id), SecretBox(MASTER_KEY), self.clock)
            ring.ensure_key()
            self.keyrings[tenant_id] = ring
            users = self.store.tenant(tenant_id).users
            users.add(
                UserRecord(
                    tenant_id, "u-alice", "alice", "a@x.example", "Alice", None, False, T0, T0
                )
            )
        self.book = IncidentBook(
            self.store, lambda tenant_id: timedelta(minutes=60), new_id=self._next_id
        )
        self.sessions = SessionService(self.store, self.clock, SessionTimeouts())
        self.desk = MonitorDesk(
            tenant_id="t1",
            store=self.store,
            incidents=self.book,
            risk_rules=RiskRules(),
            runner=self.runner,
            audit=self.write_audit,
        )
        jwks = JwksCache(
            "http://127.0.0.1:1/jwks.json",
            lambda url: self.keyrings["t1"].jwks(),
            monotonic=self.clock.monotonic,
        )
        verifier = AssertionVerifier(
            jwks.current, issuer=ISSUER, audience="console", clock=self.clock
        )
        app = build_console(
            ConsoleConfig(),
            identity=UpstreamIdentity(verifier, jwks),
            load_model=load_example,
            clock=self.clock,
            monitor=self.desk,
            form_key=FORM_KEY,
        )
        self.client = TestClient(app, base_url="https://apps.firm.example")

    def _next_id(self) -> str:
        self._ids += 1
        return f"inc{self._ids:04d}"

    def write_audit(self, events: Sequence[AuditEvent]) -> None:
        AuditWriter(self.store, EventBus(), self.clock).write_now(events)

    def identity(self, tenant_id: str) -> IdentityService:
        return IdentityService(
            self.store.tenant(tenant_id), PasswordHasher(), self.clock, bytes, bytes
        )

    def runner(self, publish: Any) -> ActionRunner:
        return ActionRunner(
            store=self.store,
            sessions=self.sessions,
            identity=self.identity,
            live=self.live,
            publish=publish,
            clock=self.clock,
            observe_only=lambda tenant_id: False,
        )

    # -- data -------------------------------------------------------------------------
    def incident(self, tenant_id: str = "t1", **kwargs: Any) -> str:
        """Open an incident from one finding, detected five minutes after it."""
        made = finding(tenant_id, **kwargs)
        incident, _ = self.book.record(
            made,
            first_event_at=made.at - timedelta(minutes=2),
            detected_at=made.at + timedelta(minutes=5),
        )
        return incident.id

    def action(
        self,
        tenant_id: str = "t1",
        incident_id: str | None = None,
        kind: ActionKind = ActionKind.BLOCK_IP,
        key: str = "k1",
    ) -> str:
        target = "ip:203.0.113.9" if kind is ActionKind.BLOCK_IP else "user:u-alice"
        planned = PlannedAction(
            "exfiltration",
            kind,
            str(ALICE),
            target,
            key,
            "exfiltration: big download",
            timedelta(hours=1),
        )
        events: list[AuditEvent] = []
        record = asyncio.run(self.runner(events.append).run(tenant_id, planned, incident_id))
        assert record is not None
        return record.id

    def score(self, tenant_id: str, subject: str, score: float, at: datetime = T0) -> None:
        level = RiskRules().level(score).value
        self.store.tenant(tenant_id).risk_scores.put(
            RiskScoreRecord(tenant_id, subject, score, level, at)
        )

    def audit(self, tenant_id: str = "t1") -> list[AuditRecord]:
        return list(self.store.tenant(tenant_id).audit.iterate())

    # -- requests ---------------------------------------------------------------------
    def token(
        self,
        tenant_id: str = "t1",
        *,
        username: str = "mei",
        session: str = "s-mei",
        groups: tuple[str, ...] = ("admins",),
    ) -> str:
        minter = AssertionMinter(self.keyrings[tenant_id], ISSUER, self.clock)
        return minter.mint(
            audience="console",
            subject=f"u-{username}",
            email=f"{username}@x.example",
            groups=groups,
            session_id=session,
            mfa_method="totp",
            mfa_at=self.clock.now(),
            username=username,
        )

    def desk_token(self, action: str, *, username: str = "mei", session: str = "s-mei") -> str:
        """The token the console would put in the form posting to ``action``."""
        user = Admitted(f"u-{username}", username, ("admins",), session)
        return FormGuard(FORM_KEY).token(user, action)

    def get(self, path: str, token: str | None = None, **params: str) -> Any:
        headers = {"x-menshen-assertion": token or self.token()}
        return self.client.get(path, headers=headers, params=params, follow_redirects=False)

    def forms(self, page: str, token: str | None = None) -> dict[str, str]:
        """The CSRF token of each form on ``page``, by its action path."""
        text = self.get(page, token).text
        return dict(_CSRF.findall(text))

    def post(
        self,
        path: str,
        data: dict[str, str],
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = {
            "x-menshen-assertion": token or self.token(),
            "x-forwarded-proto": "https",
            "x-forwarded-host": "apps.firm.example",
            **(headers or {}),
        }
        return self.client.post(path, data=data, headers=sent, follow_redirects=False)

    def submit(self, page: str, action: str, token: str | None = None, **fields: str) -> Any:
        """Post the form ``action`` of ``page`` as a browser would, with its own token."""
        csrf = self.forms(page, token)[action]
        return self.post(
            action,
            {"csrf": csrf, **fields},
            token,
            {"origin": "https://apps.firm.example", "sec-fetch-site": "same-origin"},
        )
