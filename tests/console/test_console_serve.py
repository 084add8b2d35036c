"""`menshen console serve`: the console for a stored tenant, keys from the gateway's JWKS."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

from menshen.app import Platform
from menshen.assertions.mint import AssertionMinter
from menshen.cli.console_serve import console_for
from menshen.cli.main import app
from menshen.console import ConsoleConfig
from menshen.settings import Settings
from tests.console.jwks_stub import serving_jwks

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

runner = CliRunner()
EXAMPLE = resources.files("menshen.segmentation").joinpath("examples", "formosa-pay.yaml")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    data = tmp_path / "data"
    source = tmp_path / "firm.yaml"
    source.write_text(EXAMPLE.read_text("utf-8"), encoding="utf-8")
    args = ["--data-dir", str(data), "--tenant", "acme", "inventory", "import", str(source)]
    assert runner.invoke(app, args).exit_code == 0
    opened = Platform.open(Settings(data_dir=data, database_url=None, tenant="acme"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def gateway(platform: Platform) -> Iterator[str]:
    """A stand-in for the gateway's JWKS endpoint on a loopback port."""
    with serving_jwks(platform.keyring("acme").jwks_json()) as url:
        yield url


def test_served_console_reads_the_stored_model(platform: Platform, gateway: str) -> None:
    """With a valid admin assertion the stored tenant's picture is shown."""
    console = console_for(platform, gateway=gateway, audience="console", config=ConsoleConfig())
    minter = AssertionMinter(platform.keyring("acme"), platform.settings.issuer, platform.clock)
    token = minter.mint(audience="console", subject="u1", email="a@x.example", groups=["admins"],
                        session_id="s1", mfa_method="totp", mfa_at=platform.clock.now(),
                        username="mei")  # fmt: skip
    with TestClient(console) as client:
        assert client.get("/console/segmentation").status_code == 401
        page = client.get("/console/segmentation", headers={"x-menshen-assertion": token})
        assert page.status_code == 200, page.text
        assert 'data-zone="settlement-db"' in page.text


def test_unreachable_gateway_fails_closed(platform: Platform) -> None:
    """No JWKS to be had: even a well-formed assertion is refused."""
    console = console_for(
        platform, gateway="http://127.0.0.1:9", audience="console", config=ConsoleConfig()
    )
    minter = AssertionMinter(platform.keyring("acme"), platform.settings.issuer, platform.clock)
    token = minter.mint(audience="console", subject="u1", email="a@x.example", groups=["admins"],
                        session_id="s1", mfa_method="totp", mfa_at=platform.clock.now(),
                        username="mei")  # fmt: skip
    with TestClient(console) as client:
        page = client.get("/console/segmentation", headers={"x-menshen-assertion": token})
        assert page.status_code == 401


def test_serve_refuses_bad_options(tmp_path: Path) -> None:
    """A gateway that is not http(s), or a bad prefix: exit 2 before anything listens."""
    base = ["--data-dir", str(tmp_path / "d"), "console", "serve"]
    result = runner.invoke(app, [*base, "--gateway", "file:///etc"])
    assert result.exit_code == 2
    assert "http" in result.output
    result = runner.invoke(app, [*base, "--prefix", "console/"])
    assert result.exit_code == 2
    assert "prefix" in result.output
