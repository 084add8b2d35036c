"""The Kubernetes compiler: valid NetworkPolicy objects that decide as ``verdict`` does.

Validation uses the published OpenAPI schema of networking.k8s.io/v1 (vendored in
``fixtures/networkpolicy-v1-openapi.json`` with its source) through ``jsonschema``, made
strict the way kubeconform's schemas are (``additionalProperties: false`` on every object
with properties, ``int-or-string`` as integer or string), plus the API server's own checks
that a schema cannot express (``ValidateNetworkPolicy``: protocols, port ranges, one kind of
peer, names). ``jsonschema`` is lighter than the ``kubernetes`` client, whose models do not
refuse unknown fields.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from menshen.inventory import Asset, AssetKind, InvalidModel, Inventory, Labels, PortRange
from menshen.segmentation import (
    Rule,
    RuleSet,
    Segmentation,
    SegmentationPolicy,
    Selector,
)
from menshen.segmentation.compile import compile_kubernetes, network_policies
from menshen.segmentation.compile.kubernetes import ASSET_LABEL, pod_namespaces
from menshen.segmentation.files import load_example
from tests.segmentation.compile_evaluators import (
    Place,
    expected,
    k8s_allows,
    probe_addresses,
)
from tests.segmentation.oracle import OUTSIDE, T0, TIMES, models, witness_ports

FIXTURE = Path(__file__).parent / "fixtures" / "networkpolicy-v1-openapi.json"
ROOT = "#/components/schemas/io.k8s.api.networking.v1.NetworkPolicy"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
ip = ipaddress.ip_address
net = ipaddress.ip_network


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("format") == "int-or-string":
            return {"oneOf": [{"type": "integer"}, {"type": "string"}]}
        found = {key: _strict(value) for key, value in node.items()}
        if "properties" in found and "additionalProperties" not in found:
            found["additionalProperties"] = False
        return found
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


def validator() -> Draft202012Validator:
    document = json.loads(FIXTURE.read_text(encoding="utf-8"))
    schema = {"$ref": ROOT, "components": _strict(document["components"])}
    kind = schema["components"]["schemas"]["io.k8s.api.networking.v1.NetworkPolicy"]
    kind["properties"]["apiVersion"]["enum"] = ["networking.k8s.io/v1"]
    kind["properties"]["kind"]["enum"] = ["NetworkPolicy"]
    kind["required"] = ["apiVersion", "kind", "metadata", "spec"]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


VALIDATOR = validator()


def api_server_problems(policy: dict[str, Any]) -> list[str]:
    """What ``ValidateNetworkPolicy`` would refuse that the schema lets through."""
    found: list[str] = []
    meta, spec = policy["metadata"], policy["spec"]
    if not DNS_SUBDOMAIN.match(meta["name"]):
        found.append(f"name {meta['name']!r}")
    if not DNS_LABEL.match(meta["namespace"]):
        found.append(f"namespace {meta['namespace']!r}")
    if not set(spec.get("policyTypes", [])) <= {"Ingress", "Egress"}:
        found.append("policyTypes")
    selectors = [spec["podSelector"]]
    for key, side in (("ingress", "from"), ("egress", "to")):
        for rule in spec.get(key, []):
            for port in rule.get("ports", []):
                if port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                    found.append(f"protocol {port['protocol']}")
                first = port.get("port")
                if isinstance(first, int) and not 1 <= first <= 65535:
                    found.append(f"port {first}")
                if "endPort" in port and not (
                    isinstance(first, int) and first <= port["endPort"] <= 65535
                ):
                    found.append(f"endPort {port['endPort']}")
            for peer in rule.get(side, []):
                if "ipBlock" in peer and len(peer) > 1:
                    found.append("ipBlock with a selector")
                if not peer:
                    found.append("empty peer")
                if "ipBlock" in peer:
                    ipaddress.ip_network(peer["ipBlock"]["cidr"], strict=False)
                selectors += [peer[k] for k in ("podSelector", "namespaceSelector") if k in peer]
    for selector in selectors:
        values = list(selector.get("matchLabels", {}).values())
        for term in selector.get("matchExpressions", []):
            if term["operator"] in ("In", "NotIn") and not term.get("values"):
                found.append(f"{term['key']} In with no value")
            values += term.get("values", [])
        found += [f"label value {value!r}" for value in values if not LABEL_VALUE.match(value)]
    return found


def check_valid(text: str) -> list[dict[str, Any]]:
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    for document in documents:
        errors = sorted(VALIDATOR.iter_errors(document), key=str)
        assert not errors, [error.message for error in errors]
        assert not api_server_problems(document)
    names = [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in documents]
    assert len(names) == len(set(names)), "two policies share a name in one namespace"
    return documents


def test_formosa_manifests_validate_against_the_schema() -> None:
    """Every manifest of the reference firm is a valid networking.k8s.io/v1 NetworkPolicy."""
    documents = check_valid(compile_kubernetes(load_example(), T0))
    names = {d["metadata"]["name"] for d in documents}
    assert {"menshen-default-deny", "menshen-allow-dns", "menshen-set-001-in-0"} <= names


def test_schema_catches_a_wrong_field() -> None:
    """The strict schema refuses a misspelt field, so validation is not vacuous."""
    policy = network_policies(load_example(), T0)[0]
    broken = copy.deepcopy(policy)
    broken["spec"]["podSelektor"] = {}
    assert list(VALIDATOR.iter_errors(broken))
    broken = copy.deepcopy(policy)
    broken["spec"]["ingress"] = [{"ports": [{"port": [5432]}]}]
    assert list(VALIDATOR.iter_errors(broken))


def test_default_deny_per_namespace_and_rule_annotations() -> None:
    """Each namespace is isolated both ways; allow policies name their rule ids."""
    policies = network_policies(load_example(), T0)
    deny = [p for p in policies if p["metadata"]["name"] == "menshen-default-deny"]
    assert [p["spec"] for p in deny] == [{"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}]
    ledger = next(p for p in policies if p["metadata"]["name"] == "menshen-set-001-in-0")
    assert ledger["metadata"]["annotations"]["menshen.dev/rule-ids"] == "SET-001"
    assert ledger["spec"]["podSelector"] == {
        "matchLabels": {"app": "settlement", "role": "database"}
    }
    exception = next(p for p in policies if p["metadata"]["name"] == "menshen-exc-001-in-0")
    assert exception["metadata"]["annotations"]["menshen.dev/expires"].startswith("2026-03-31")


def test_contractor_laptop_is_not_let_into_the_ledger() -> None:
    """The contractor's address reaches the gateway only; not the settlement database."""
    seg = load_example()
    policies = network_policies(seg, T0)
    pods = pod_namespaces(seg)
    laptop = Place(ip=ip("10.50.0.17"))
    ledger = _place(seg, pods, "settlement-db", ip("10.40.0.10"))
    gateway = _place(seg, pods, "contractor-gateway", ip("10.20.0.11"))
    assert not k8s_allows(policies, laptop, ledger, "tcp", 5432)
    assert k8s_allows(policies, laptop, gateway, "tcp", 443)


def test_namespace_label_places_assets_and_bad_names_are_refused() -> None:
    """``namespace`` labels pick the namespace; a name Kubernetes refuses is an error."""
    good = Asset("a", AssetKind.HOST, labels=Labels({"namespace": "pay", "role": "web"}))
    laptop = Asset("w", AssetKind.WORKSTATION, labels=Labels({"role": "ws"}))
    seg = Segmentation(Inventory((good, laptop)), SegmentationPolicy())
    assert pod_namespaces(seg) == {"a": "pay"}
    bad = Asset("b", AssetKind.HOST, labels=Labels({"namespace": "Pay_Team"}))
    with pytest.raises(InvalidModel, match="not an RFC 1123 label"):
        pod_namespaces(Segmentation(Inventory((bad,)), SegmentationPolicy()))


def test_peer_with_no_address_or_pod_allows_nothing() -> None:
    """A source of only host names has no peer: the rule is left out, never ``from: []``."""
    saas = Asset("s", AssetKind.SAAS, labels=Labels({"role": "saas"}))
    app = Asset("a", AssetKind.HOST, labels=Labels({"role": "web"}), networks=(net("10.0.0.1/32"),))
    rule = Rule("R", (Selector.of({"role": "saas"}),), (Selector.of({"role": "web"}),),
                (PortRange.parse("tcp/443"),))  # fmt: skip
    seg = Segmentation(
        Inventory((saas, app)), SegmentationPolicy(rule_sets=(RuleSet("rs", rules=(rule,)),))
    )
    policies = network_policies(seg, T0)
    assert not [p for p in policies if p["spec"].get("ingress") == [{"ports": []}]]
    for policy in policies:
        for item in policy["spec"].get("ingress", []):
            assert item == {} or item["from"]


def _place(seg: Segmentation, pods: dict[str, str], asset_id: str, address: Any) -> Place:
    asset = seg.inventory.asset(asset_id)
    assert asset is not None
    if asset_id not in pods:
        return Place(ip=address)
    labels = {**dict(asset.labels), ASSET_LABEL: asset_id}
    return Place(pods[asset_id], labels, address)


def _endpoints(seg: Segmentation, pods: dict[str, str]) -> list[tuple[Any, Place]]:
    """(endpoint for ``verdict``, place for the evaluator): addresses, and pods without one."""
    found: list[tuple[Any, Place]] = []
    for address in probe_addresses(seg, OUTSIDE):
        owner = seg.inventory.asset_at(address)
        if owner is None:
            found.append((address, Place(ip=address)))
        else:
            found.append((address, _place(seg, pods, owner.id, address)))
    for asset in seg.inventory.assets:
        if asset.id in pods and not asset.networks:
            found.append((asset.id, _place(seg, pods, asset.id, None)))
    return found


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seg=models(), data=st.data(), namespaces=st.booleans())
def test_compiled_policies_agree_with_verdict(
    seg: Segmentation, data: st.DataObject, namespaces: bool
) -> None:
    """On random models and probes, NetworkPolicy semantics let through what ``verdict`` does."""
    at = data.draw(st.sampled_from(TIMES))
    if namespaces:  # spread workloads over two namespaces by their env label
        assets = tuple(
            Asset(
                a.id,
                a.kind,
                labels=a.labels.with_label("namespace", a.labels.get("env", "x")),
                networks=a.networks,
                dns_names=a.dns_names,
                ports=a.ports,
            )
            for a in seg.inventory.assets
        )
        seg = Segmentation(Inventory(assets), seg.policy)
    policies = [doc for doc in yaml.safe_load_all(compile_kubernetes(seg, at, allow_dns=False))]
    pods = pod_namespaces(seg)
    ends = _endpoints(seg, pods)
    ports = [*witness_ports(seg), ("tcp", 41)]
    # between two outside parties it is not the cluster's to decide
    probes = [(s, d, p) for s in ends for d in ends if s[1].pod or d[1].pod for p in ports]
    passing = [(s, d, p) for s, d, p in probes if expected(seg, s[0], d[0], p[1], p[0], at)]
    rnd = data.draw(st.randoms(use_true_random=False))
    for pool in (probes, passing):
        for _ in range(min(25, len(pool))):
            (src, src_place), (dst, dst_place), (protocol, port) = rnd.choice(pool)
            want = expected(seg, src, dst, port, protocol, at) is not None
            got = k8s_allows(policies, src_place, dst_place, protocol, port)
            assert got == want, (src, dst, protocol, port)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seg=models())
def test_random_manifests_validate(seg: Segmentation) -> None:
    """Whatever the model, every manifest passes the schema and the API server's checks."""
    for at in TIMES:
        check_valid(compile_kubernetes(seg, at))


def test_exceptions_only_while_valid() -> None:
    """After expiry the exception's policies are gone."""
    later = datetime(2026, 4, 1, tzinfo=UTC)
    text = compile_kubernetes(load_example(), later)
    assert "exc-001" not in text
    assert "EXC-001: exception expired" in text
