"""A console wired as the gateway would front it: a keyring, a minter, the example model."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient and warns when it finds httpx; the
    # client works the same, and menshen depends on httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from menshen.assertions.keyring import Keyring
from menshen.assertions.mint import AssertionMinter
from menshen.assertions.upstream import JwksCache, UpstreamIdentity
from menshen.assertions.verify import AssertionVerifier
from menshen.console import ConsoleConfig, build_console
from menshen.crypto import SecretBox
from menshen.segmentation.files import load_example
from menshen.segmentation.resolve import Segmentation
from menshen.testing import FixedClock
from tests.assertions.conftest import MASTER_KEY, T0, MemoryTenantKeys

ISSUER = "menshen"


@dataclass
class Console:
    clock: FixedClock
    keyring: Keyring
    minter: AssertionMinter
    client: TestClient
    fetches: list[str] = field(default_factory=list)
    model: Callable[[], Segmentation] = load_example

    def token(self, *, audience: str = "console", groups: tuple[str, ...] = ("admins",),
              mfa: bool = True, username: str = "mei") -> str:  # fmt: skip
        return self.minter.mint(
            audience=audience,
            subject=f"u-{username}",
            email=f"{username}@formosapay.example",
            groups=groups,
            session_id=f"s-{username}-{audience}-{'-'.join(groups)}-{mfa}",
            mfa_method="totp" if mfa else None,
            mfa_at=self.clock.now() if mfa else None,
            username=username,
        )

    def get(self, path: str, token: str | None = None, **params: str) -> Any:
        headers = {} if token is None else {"x-menshen-assertion": token}
        return self.client.get(path, headers=headers, params=params, follow_redirects=False)


@pytest.fixture
def console() -> Console:
    clock = FixedClock(T0)
    keyring = Keyring(MemoryTenantKeys(), SecretBox(MASTER_KEY), clock)
    keyring.ensure_key()
    holder: dict[str, Console] = {}

    def fetch(url: str) -> dict[str, Any]:
        holder["it"].fetches.append(url)
        return keyring.jwks()

    jwks = JwksCache("http://127.0.0.1:1/.well-known/menshen/jwks.json", fetch,
                     monotonic=clock.monotonic)  # fmt: skip
    verifier = AssertionVerifier(jwks.current, issuer=ISSUER, audience="console", clock=clock)

    def model() -> Segmentation:
        return holder["it"].model()

    app = build_console(
        ConsoleConfig(), identity=UpstreamIdentity(verifier, jwks), load_model=model, clock=clock
    )
    made = Console(clock, keyring, AssertionMinter(keyring, ISSUER, clock), TestClient(app))
    holder["it"] = made
    return made
