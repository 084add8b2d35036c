"""The gateway's access events: client → gateway, and gateway → the app's asset."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from menshen.inventory.discovery.audit import Upstream, gateway_flows, parse_audit
from menshen.segmentation.files import load_example
from tests.inventory.discovery.helpers import mutated, parse

INVENTORY = load_example().inventory


def event(kind: str, ip: str | None, app: str | None, host: str | None) -> str:
    body = {
        "tenant_id": "formosa-pay",
        "seq": 1,
        "kind": kind,
        "outcome": kind.rpartition(".")[2],
        "app": app,
        "ip": ip,
        "details": {} if host is None else {"host": host, "method": "GET", "path": "/"},
    }
    return json.dumps(body)


LOG = "\n".join(
    [
        event("access.allow", "10.10.0.12", "settlement", "apps.formosa-pay.example"),
        event("access.allow", "10.10.0.12", "settlement", "apps.formosa-pay.example"),
        event("access.deny", "10.50.0.99", "settlement", "apps.formosa-pay.example:8443"),
        event("access.allow", "10.50.0.17", "wiki", "partners.formosa-pay.example"),
        event("access.allow", "10.10.0.11", "monitoring", "unknown.example"),
        event("access.allow", "10.10.0.11", "ghost", "apps.formosa-pay.example"),
        event("login.success", "10.10.0.11", None, None),
        "{not json",
        json.dumps({"kind": "access.allow", "app": "wiki"}),
        json.dumps(["a list"]),
    ]
)


def placed(upstreams: dict[str, Upstream] | None = None) -> dict[tuple[str, str, int], int]:
    report = parse(
        lambda lines, source: gateway_flows(
            parse_audit(lines, source), INVENTORY, upstreams=upstreams
        ),
        LOG,
    )
    return {(str(o.source), str(o.destination), o.port): o.count for o in report.observations}


def test_access_events_become_client_and_upstream_flows() -> None:
    """Allowed requests give client→gateway and gateway→app asset; denied ones only the first."""
    assert placed() == {
        ("10.10.0.12", "gateway", 443): 2,
        ("gateway", "settlement-admin", 8080): 2,
        ("10.50.0.99", "gateway", 8443): 1,
        ("10.50.0.17", "contractor-gateway", 443): 1,
        ("contractor-gateway", "wiki", 8080): 1,
        ("10.10.0.11", "gateway", 443): 1,
    }


def test_the_apps_upstream_gives_the_port_to_the_app() -> None:
    """With the App's upstream known, its port is used rather than the declared flow's."""
    flows = placed({"settlement": Upstream("10.30.0.10", 9443)})
    assert flows[("gateway", "settlement-admin", 9443)] == 2


def test_what_cannot_be_placed_is_skipped_with_the_reason() -> None:
    """Unknown hosts and apps no asset fronts are counted; bad lines are rejected by number."""
    log = parse(lambda lines, source: gateway_flows(parse_audit(lines, source), INVENTORY), LOG)
    skipped = dict(log.skipped)
    assert skipped["host unknown.example is no asset's address (name the gateway's asset)"] == 1
    assert skipped["app ghost: no asset lists it among its gateway apps"] == 1
    assert skipped["events other than access.allow/access.deny"] == 1
    reasons = {item.line: item.reason for item in log.rejected}
    assert set(reasons) == {8, 9, 10}
    assert reasons[8].startswith("not JSON")
    assert "without a client address" in reasons[9]


def test_a_named_gateway_asset_places_every_event() -> None:
    """``gateway=`` overrides the host lookup (a gateway reached by an unlisted name)."""
    log = parse(lambda lines, source: gateway_flows(parse_audit(lines, source), INVENTORY,
                gateway="gateway"), LOG)  # fmt: skip
    found = {(str(o.source), str(o.destination), o.port) for o in log.observations}
    assert ("10.50.0.17", "gateway", 443) in found
    assert ("gateway", "wiki", 8080) not in found  # no declared gateway→wiki flow, no upstream


@given(mutated(LOG.splitlines()))
def test_damaged_audit_lines_never_raise(text: str) -> None:
    """Fuzz: damaged JSON lines are rejected or skipped, never raised."""
    parse(lambda lines, source: gateway_flows(parse_audit(lines, source), INVENTORY), text)


@given(st.text(max_size=200))
def test_any_text_never_raises(text: str) -> None:
    """Fuzz: arbitrary text is rejected line by line."""
    parse(lambda lines, source: gateway_flows(parse_audit(lines, source), INVENTORY), text)
