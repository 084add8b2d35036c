"""The machine clients page: listing without secrets, suspend / resume under CSRF, per tenant."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from menshen.app import Platform
from menshen.assertions.upstream import JwksCache, UpstreamIdentity
from menshen.assertions.verify import AssertionVerifier
from menshen.cli.console_serve import console_for
from menshen.console import Admitted, ConsoleConfig, build_console
from menshen.console.clients import ClientDesk
from menshen.console.forms import FormGuard
from menshen.events.bus import EventBus
from menshen.events.model import AuditEvent
from menshen.events.writer import AuditWriter
from menshen.gateway.contract import Forward, Respond
from menshen.segmentation.files import load_example
from menshen.settings import Settings
from menshen.store.records import AuditRecord
from menshen.store.sql import SqlStore
from menshen.testing import FixedClock
from tests.access.client_world import ISSUER, ClientWorld, Made
from tests.console.compliance_world import T0

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PAGE = "/console/clients"
ORIGIN = "https://apps.firm.example"
BROWSER = {"origin": ORIGIN, "sec-fetch-site": "same-origin"}
FORM_KEY = bytes(range(96, 128))
_CSRF = re.compile(r'action="([^"]+)">\s*<input type="hidden" name="csrf" value="([0-9a-f]*)"')


class ClientsConsole:
    """t1's console over the client world's store: same services, keys and gateway guard."""

    def __init__(self, world: ClientWorld) -> None:
        self.world = world
        clock = world.clock
        jwks = JwksCache("http://127.0.0.1:1/jwks.json", lambda url: world.keyrings["t1"].jwks(),
                         monotonic=clock.monotonic)  # fmt: skip
        verifier = AssertionVerifier(jwks.current, issuer=ISSUER, audience="console", clock=clock)
        desk = ClientDesk(
            tenant_id="t1",
            registry=world.services["t1"],
            repository=world.store.tenant("t1").machine_clients,
            audit=self.write_audit,
        )
        app = build_console(
            ConsoleConfig(),
            identity=UpstreamIdentity(verifier, jwks),
            load_model=load_example,
            clock=clock,
            form_key=FORM_KEY,
            clients=desk,
        )
        self.client = TestClient(app, base_url=ORIGIN)

    def write_audit(self, events: Sequence[AuditEvent]) -> None:
        AuditWriter(self.world.store, EventBus(), self.world.clock).write_now(events)

    def token(self, tenant_id: str = "t1", *, username: str = "mei") -> str:
        return self.world.minters[tenant_id].mint(
            audience="console",
            subject=f"u-{username}",
            email=f"{username}@x.example",
            groups=("admins",),
            session_id=f"s-{username}",
            mfa_method="totp",
            mfa_at=self.world.clock.now(),
            username=username,
        )

    def get(self, path: str = PAGE, token: str | None = None) -> Any:
        headers = {"x-menshen-assertion": token or self.token()}
        return self.client.get(path, headers=headers, follow_redirects=False)

    def forms(self) -> dict[str, str]:
        return dict(_CSRF.findall(self.get().text))

    def post(self, path: str, data: dict[str, str], *, token: str | None = None,
             headers: dict[str, str] | None = None) -> Any:  # fmt: skip
        sent = {
            "x-menshen-assertion": token or self.token(),
            "x-forwarded-proto": "https",
            "x-forwarded-host": "apps.firm.example",
            **(BROWSER if headers is None else headers),
        }
        return self.client.post(path, data=data, headers=sent, follow_redirects=False)

    def submit(self, action: str, **fields: str) -> Any:
        return self.post(action, {"csrf": self.forms()[action], **fields})

    def audit(self, tenant_id: str = "t1") -> list[AuditRecord]:
        return list(self.world.store.tenant(tenant_id).audit.iterate())


@pytest.fixture
def world(sqlite_store: SqlStore) -> ClientWorld:
    return ClientWorld(sqlite_store)


@pytest.fixture
def console(world: ClientWorld) -> ClientsConsole:
    return ClientsConsole(world)


def _bank_a(world: ClientWorld) -> Made:
    return world.make("bank-a", owner="Bank A integration team", scopes=("reports:read",))


def _suspended(world: ClientWorld, name: str, tenant_id: str = "t1") -> bool:
    record = world.store.tenant(tenant_id).machine_clients.get(name)
    assert record is not None
    return record.suspended_at is not None


def test_page_lists_the_tenants_clients_and_credentials_but_never_a_secret(
    world: ClientWorld, console: ClientsConsole
) -> None:
    """Name, owner, created, credentials with kind and prefix; no secret, no hash."""
    made = _bank_a(world)
    api_key = world.api_key("bank-a")
    page = console.get()
    assert page.status_code == 200
    text = page.text
    assert 'data-client="bank-a" data-state="active"' in text
    assert "Bank A integration team" in text
    assert "reports:read" in text
    assert f"<code>{made.credential_id}</code>" in text
    key_id = api_key.split("_")[1]
    assert f"<code>mk_{key_id}_…</code>" in text
    assert "<code>mcs_…</code>" in text
    assert made.secret not in text
    assert api_key not in text
    for credential in world.store.tenant("t1").machine_clients.credentials("bank-a"):
        assert credential.secret_hash not in text
    assert 'id="cli-only"' in text
    assert "menshen client create" in text
    assert f'href="{PAGE}">Machine clients</a>' in text  # the nav link


def test_suspend_from_the_console_refuses_the_clients_next_request(
    world: ClientWorld, console: ClientsConsole
) -> None:
    """Suspended through the CLI's service and audited as the admin; the gateway refuses."""
    token = world.token_for(_bank_a(world))
    assert isinstance(world.call("/ledger/books", token), Forward)
    answer = console.submit(f"{PAGE}/bank-a/suspend", reason="token seen in a paste site")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{PAGE}#client-bank-a"
    record = world.store.tenant("t1").machine_clients.get("bank-a")
    assert record is not None
    assert (record.suspended_by, record.suspend_reason) == (
        "console:mei",
        "token seen in a paste site",
    )
    [event] = console.audit()
    assert (event.kind, event.actor, event.subject, event.reason) == (
        "admin.change",
        "console:mei",
        "client:bank-a",
        "client.suspend",
    )
    assert event.details == {"reason": "token seen in a paste site"}
    world.refresh()
    verdict = world.call("/ledger/books", token)
    assert isinstance(verdict, Respond)
    assert verdict.status == 401
    assert world.last_reason() == "machine credential refused: client suspended"
    page = console.get().text
    assert 'data-state="suspended"' in page
    assert "by console:mei: token seen in a paste site" in page


def test_resume_from_the_console_lets_a_new_token_in(
    world: ClientWorld, console: ClientsConsole
) -> None:
    """Resume is audited; tokens from before the suspension stay refused, a new one works."""
    made = _bank_a(world)
    old = world.token_for(made)
    assert console.submit(f"{PAGE}/bank-a/suspend", reason="investigating").status_code == 303
    world.clock.advance(1)
    assert console.submit(f"{PAGE}/bank-a/resume", reason="rotated").status_code == 303
    assert not _suspended(world, "bank-a")
    assert [(e.reason, e.details) for e in console.audit()] == [
        ("client.suspend", {"reason": "investigating"}),
        ("client.resume", {"reason": "rotated"}),
    ]
    world.refresh()
    refused = world.call("/ledger/books", old)
    assert isinstance(refused, Respond)
    assert refused.status == 401
    world.clock.advance(1)
    assert isinstance(world.call("/ledger/books", world.token_for(made)), Forward)


def test_forged_or_cross_site_posts_change_nothing(
    world: ClientWorld, console: ClientsConsole
) -> None:
    """No token, a made-up or another form's token, another admin, another site: 403."""
    _bank_a(world)
    tokens = console.forms()
    suspend = f"{PAGE}/bank-a/suspend"
    good = tokens[suspend]
    other_admin = console.token(username="ben")
    attempts: list[tuple[dict[str, str], dict[str, Any]]] = [
        ({"reason": "x"}, {}),
        ({"csrf": "", "reason": "x"}, {}),
        ({"csrf": "0" * 64, "reason": "x"}, {}),
        ({"csrf": console.forms()[suspend].upper(), "reason": "x"}, {}),
        ({"csrf": good, "reason": "x"}, {"token": other_admin}),
        ({"csrf": good, "reason": "x"}, {"headers": {"origin": "https://evil.example"}}),
        ({"csrf": good, "reason": "x"}, {"headers": {"sec-fetch-site": "cross-site"}}),
    ]
    for data, options in attempts:
        answer = console.post(suspend, data, **options)
        assert answer.status_code == 403, (data, options)
        assert "Nothing was changed" in answer.text
    assert not _suspended(world, "bank-a")
    assert console.audit() == []
    assert console.post(suspend, {"csrf": good, "reason": "x"}).status_code == 303


def test_another_tenants_client_is_not_found_and_its_admin_is_not_let_in(
    world: ClientWorld, console: ClientsConsole
) -> None:
    """t2's client is not listed, a POST naming it is a 404, t2's admin gets a 401."""
    _bank_a(world)
    world.make("bank-z", tenant_id="t2")
    page = console.get().text
    assert "bank-a" in page
    assert "bank-z" not in page
    path = f"{PAGE}/bank-z/suspend"
    csrf = FormGuard(FORM_KEY).token(Admitted("u-mei", "mei", ("admins",), "s-mei"), path)
    answer = console.post(path, {"csrf": csrf, "reason": "cross-tenant"})
    assert answer.status_code == 404
    assert not _suspended(world, "bank-z", "t2")
    assert console.audit() == []
    assert console.audit("t2") == []
    assert console.get(token=console.token("t2")).status_code == 401


def test_suspend_needs_a_reason_of_bounded_length(
    world: ClientWorld, console: ClientsConsole
) -> None:
    """An empty or over-long reason is a 400 and nothing is suspended or audited."""
    _bank_a(world)
    for reason in ("", "   ", "x" * 501):
        answer = console.submit(f"{PAGE}/bank-a/suspend", reason=reason)
        assert answer.status_code == 400, reason
    assert not _suspended(world, "bank-a")
    assert console.audit() == []
    unknown = console.post(f"{PAGE}/bank-a/delete", {"csrf": "0" * 64})
    assert unknown.status_code == 403  # the token is checked before the verb


def test_console_serve_wires_the_clients_page_and_the_declaration_forms(tmp_path: Path) -> None:
    """``menshen console serve`` builds both: the routes exist for the platform's tenant."""
    settings = Settings(data_dir=tmp_path / "data", database_url=None, tenant="t1")
    platform = Platform.open(settings, FixedClock(T0))
    try:
        app = console_for(
            platform, gateway="http://127.0.0.1:1", audience="console", config=ConsoleConfig()
        )
    finally:
        platform.close()
    paths = {getattr(route, "path", "") for route in app.routes}
    assert f"{PAGE}/{{name}}/{{verb}}" in paths
    assert "/console/compliance/declare/{control_id:path}" in paths
    assert "/console/compliance/undeclare/{control_id:path}" in paths
