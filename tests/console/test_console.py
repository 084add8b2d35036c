"""The console trusts only a valid assertion from an administrator with MFA, and shows the
segmentation picture with its blast-radius overlay."""

from __future__ import annotations

import logging
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from menshen.console import ConsoleAccess, ConsoleConfig, Refused, admit
from menshen.errors import ConfigError
from menshen.inventory import Asset, AssetKind, Inventory, Labels
from menshen.segmentation import Segmentation, SegmentationPolicy
from tests.console.conftest import ISSUER, Console

PAGE = "/console/segmentation"


def test_admin_with_mfa_sees_the_picture_and_the_tables(console: Console) -> None:
    """A valid assertion for an admin with a fresh second factor opens the page."""
    page = console.get(PAGE, console.token())
    assert page.status_code == 200, page.text
    assert "<svg" in page.text
    assert 'data-zone="settlement-db"' in page.text
    assert 'id="zones"' in page.text
    assert 'id="rules"' in page.text
    assert ">mei (admins)" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"


def test_missing_assertion_is_refused_without_showing_anything(console: Console) -> None:
    """No assertion: 401 and a generic page naming no asset."""
    for path in ("/console", "/console/", PAGE, "/console/segmentation.svg"):
        page = console.get(path)
        assert page.status_code == 401, path
        assert "settlement" not in page.text
        assert "<svg" not in page.text


def test_forged_assertion_is_refused(console: Console) -> None:
    """A token with the gateway's key id but signed by another key: 401."""
    real = jwt.decode(console.token(), options={"verify_signature": False})
    kid = console.keyring.active_signing_key().kid
    forged = jwt.encode(real, ec.generate_private_key(ec.SECP256R1()), "ES256",
                        headers={"kid": kid})  # fmt: skip
    assert console.get(PAGE, forged).status_code == 401
    assert console.get(PAGE, "not.a.token").status_code == 401
    unsigned = jwt.encode(real, None, "none")  # type: ignore[arg-type]
    assert console.get(PAGE, unsigned).status_code == 401


def test_expired_assertion_is_refused(console: Console) -> None:
    """Past its expiry (plus leeway) the same token opens nothing."""
    token = console.token()
    assert console.get(PAGE, token).status_code == 200
    console.clock.advance(timedelta(minutes=6).total_seconds())
    assert console.get(PAGE, token).status_code == 401


def test_assertion_for_another_app_is_refused(console: Console) -> None:
    """A token minted for the wiki is not one for the console."""
    assert console.get(PAGE, console.token(audience="wiki")).status_code == 401


def test_valid_assertion_without_admin_group_or_mfa_is_forbidden(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    """Not an admin, or no second factor: 403, and the reason only in the log."""
    with caplog.at_level(logging.WARNING, logger="menshen.console"):
        page = console.get(PAGE, console.token(groups=("finance-ops",), username="alice"))
        assert page.status_code == 403
        assert "administrators" not in page.text
        assert console.get(PAGE, console.token(mfa=False)).status_code == 403
    reasons = " ".join(record.getMessage() for record in caplog.records)
    assert "not in an administrators' group" in reasons
    assert "no second factor" in reasons


def test_mfa_older_than_the_limit_is_forbidden() -> None:
    """The console's own MFA age limit holds even if the gateway policy forgot one."""
    rules = ConsoleAccess(mfa_max_age=timedelta(hours=1))
    from tests.assertions.conftest import T0

    claims = {"sub": "u", "groups": ["admins"], "mfa_time": T0.timestamp() - 7200}
    decision = admit(claims, rules, T0)
    assert isinstance(decision, Refused)
    assert decision.status == 403
    assert "old" in decision.reason
    assert not isinstance(admit({**claims, "mfa_time": T0.timestamp()}, rules, T0), Refused)
    for bad in (True, "yesterday", float("nan"), None):
        assert isinstance(admit({**claims, "mfa_time": bad}, rules, T0), Refused)
    assert isinstance(admit({"sub": "u", "groups": "admins"}, rules, T0), Refused)


def test_blast_radius_overlay_for_the_contractor_laptop(console: Console) -> None:
    """?asset=laptop-17 overlays its blast radius; the settlement ledger is not in it."""
    page = console.get(PAGE, console.token(), asset="laptop-17")
    assert page.status_code == 200, page.text
    assert 'class="asset compromised" data-asset="laptop-17"' in page.text
    assert 'id="blast"' in page.text
    assert "merchant-kyc" in page.text.split('id="picture"')[0]
    assert "settlement-ledger" not in page.text.split('id="picture"')[0]
    assert '<option value="laptop-17" selected>' in page.text


def test_unknown_asset_is_a_404_with_the_name_escaped(console: Console) -> None:
    """An asset that does not exist: 404, the plain picture, the name escaped."""
    page = console.get(PAGE, console.token(), asset="<script>x</script>")
    assert page.status_code == 404
    assert "<script>x" not in page.text
    assert "&lt;script&gt;x" in page.text
    assert "<svg" in page.text
    svg = console.get("/console/segmentation.svg", console.token(), asset="nope")
    assert svg.status_code == 404


def test_svg_download_is_sandboxed_and_identical_to_the_inline_picture(console: Console) -> None:
    """The file is the same drawing, served as an attachment under a sandbox CSP."""
    token = console.token()
    svg = console.get("/console/segmentation.svg", token, asset="laptop-17")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "attachment" in svg.headers["content-disposition"]
    assert "sandbox" in svg.headers["content-security-policy"]
    page = console.get(PAGE, token, asset="laptop-17")
    assert svg.text.strip() in page.text


def test_untrusted_inventory_text_is_escaped_in_the_tables(console: Console) -> None:
    """An asset name with markup stays text in the HTML tables and the SVG."""
    hostile = Asset("h-1", AssetKind.HOST, name='<img src=x onerror="alert(1)">',
                    owner="<b>me</b>", labels=Labels({"role": "x"}))  # fmt: skip
    console.model = lambda: Segmentation(Inventory((hostile,)), SegmentationPolicy())
    page = console.get(PAGE, console.token(), asset="h-1")
    assert page.status_code == 200
    assert "<img" not in page.text
    assert "<b>me" not in page.text
    assert "&lt;img src=x" in page.text


def test_invalid_stored_model_is_a_problem_page(console: Console) -> None:
    """A stored model that no longer validates: 500 with the reason, for the admin."""

    def broken() -> Segmentation:
        raise ConfigError("the stored model is invalid: zone 'x' covers part of 'y'")

    console.model = broken
    page = console.get(PAGE, console.token())
    assert page.status_code == 500
    assert "covers part of" in page.text


def test_empty_inventory_says_how_to_import(console: Console) -> None:
    """No assets yet: the page says to import an inventory."""
    console.model = lambda: Segmentation(Inventory(), SegmentationPolicy())
    page = console.get(PAGE, console.token())
    assert page.status_code == 200
    assert "menshen inventory import" in page.text


def test_index_redirect_and_links(console: Console) -> None:
    """/console redirects to /console/, which links the segmentation page."""
    token = console.token()
    redirect = console.get("/console", token)
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "/console/"
    index = console.get("/console/", token)
    assert 'href="/console/segmentation"' in index.text


def test_keys_are_fetched_once_then_reused(console: Console) -> None:
    """The JWKS is fetched on the first unknown key id, not on every request."""
    token = console.token()
    for _ in range(3):
        assert console.get(PAGE, token).status_code == 200
    assert len(console.fetches) == 1


def test_config_refuses_bad_prefix_and_empty_groups() -> None:
    """A prefix must look like /console; the console needs an admins' group."""
    for prefix in ("console", "/console/", "//x", ""):
        with pytest.raises(ValueError, match="prefix"):
            ConsoleConfig(prefix=prefix)
    with pytest.raises(ValueError, match="group"):
        ConsoleAccess(admin_groups=())
    assert ISSUER == "menshen"
