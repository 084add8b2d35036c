"""The AWS compiler: security groups in the EC2 API shapes that decide as ``verdict`` does.

Shapes are checked against the EC2 API model (``fixtures/ec2-security-group-shapes.json``,
the shapes of botocore's ``ec2/2016-11-15/service-2.json`` that the three requests use,
turned into a JSON Schema here: structures refuse unknown members, as botocore's parameter
validation does), plus what EC2 itself refuses that the model cannot say (protocols, port
ranges, canonical CIDRs, description characters). Vendoring the shapes keeps botocore
(a 17 MB wheel) out of the test dependencies.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from menshen.segmentation import Segmentation
from menshen.segmentation.compile import compile_aws, security_groups
from menshen.segmentation.compile.kubernetes import WORKLOADS
from menshen.segmentation.files import load_example
from tests.segmentation.compile_evaluators import (
    Instance,
    aws_allows,
    expected,
    probe_addresses,
)
from tests.segmentation.oracle import OUTSIDE, T0, TIMES, models, witness_ports

FIXTURE = Path(__file__).parent / "fixtures" / "ec2-security-group-shapes.json"
DESCRIPTION = re.compile(r"^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{0,255}$")
ip = ipaddress.ip_address


def _schema(shapes: dict[str, Any], name: str) -> dict[str, Any]:
    shape = shapes[name]
    kind = shape["type"]
    if kind == "structure":
        return {
            "type": "object",
            "properties": {
                member: {"$ref": f"#/$defs/{spec['shape']}"}
                for member, spec in shape["members"].items()
            },
            "required": shape.get("required", []),
            "additionalProperties": False,
        }
    if kind == "list":
        return {"type": "array", "items": {"$ref": f"#/$defs/{shape['member']['shape']}"}}
    if kind == "string":
        return {"type": "string", **({"enum": shape["enum"]} if "enum" in shape else {})}
    return {"integer": {"type": "integer"}, "boolean": {"type": "boolean"}}[kind]


def validators() -> dict[str, Draft202012Validator]:
    model = json.loads(FIXTURE.read_text(encoding="utf-8"))
    defs = {name: _schema(model["shapes"], name) for name in model["shapes"]}
    found = {}
    for operation, spec in model["operations"].items():
        schema = {"$ref": f"#/$defs/{spec['input']['shape']}", "$defs": defs}
        Draft202012Validator.check_schema(schema)
        found[operation] = Draft202012Validator(schema)
    return found


VALIDATORS = validators()


def ec2_problems(request: dict[str, Any]) -> list[str]:
    """What EC2 refuses that the API model does not say."""
    found: list[str] = []
    for permission in request["IpPermissions"]:
        protocol = permission["IpProtocol"]
        if protocol == "-1":
            if "FromPort" in permission or "ToPort" in permission:
                found.append("ports with protocol -1")
        elif protocol in ("tcp", "udp"):
            if not 0 <= permission["FromPort"] <= permission["ToPort"] <= 65535:
                found.append(f"port range {permission['FromPort']}-{permission['ToPort']}")
        else:
            found.append(f"protocol {protocol}")
        sources = (
            permission.get("IpRanges", [])
            + permission.get("Ipv6Ranges", [])
            + permission.get("UserIdGroupPairs", [])
        )
        if not sources:
            found.append("a permission with no source or destination")
        for item in sources:
            if not DESCRIPTION.match(item.get("Description", "")):
                found.append(f"description {item['Description']!r}")
            for key in ("CidrIp", "CidrIpv6"):
                if key in item and str(ipaddress.ip_network(item[key])) != item[key]:
                    found.append(f"{key} {item[key]} is not canonical")
    return found


def check_valid(body: dict[str, Any]) -> None:
    for group in body["SecurityGroups"]:
        create = {"GroupName": group["GroupName"], "Description": group["Description"]}
        assert not list(VALIDATORS["CreateSecurityGroup"].iter_errors(create))
        assert DESCRIPTION.match(group["Description"])
        assert not group["GroupName"].startswith("sg-")
        for way, operation in (("Ingress", "AuthorizeSecurityGroupIngress"),
                               ("Egress", "AuthorizeSecurityGroupEgress")):  # fmt: skip
            if way in group:
                errors = list(VALIDATORS[operation].iter_errors(group[way]))
                assert not errors, [error.message for error in errors]
                assert not ec2_problems(group[way])


def test_formosa_groups_match_the_ec2_shapes() -> None:
    """Every request of the reference firm's groups is a valid EC2 API request."""
    body = json.loads(compile_aws(load_example(), T0))
    check_valid(body)
    names = {group["GroupName"] for group in body["SecurityGroups"]}
    assert {"menshen-base", "menshen-settlement-db", "menshen-monitor-merchant"} <= names


def test_shape_validation_is_not_vacuous() -> None:
    """A misspelt member or a string port is refused."""
    validator = VALIDATORS["AuthorizeSecurityGroupIngress"]
    assert list(validator.iter_errors({"GroupId": "sg-1", "IpPermission": []}))
    bad = {"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": "443"}]}
    assert list(validator.iter_errors(bad))


def test_zone_to_zone_uses_group_pairs_and_ids_can_be_given() -> None:
    """The ledger admits the settlement engine's group, by the id given for it."""
    ids = {"menshen-settlement-engine": "sg-0123456789abcdef0"}
    body = security_groups(load_example(), T0, group_ids=ids)
    ledger = next(g for g in body["SecurityGroups"] if g["GroupName"] == "menshen-settlement-db")
    assert ledger["AttachTo"] == ["settlement-db"]
    pairs = [
        pair
        for permission in ledger["Ingress"]["IpPermissions"]
        for pair in permission.get("UserIdGroupPairs", [])
    ]
    assert {"GroupId": "sg-0123456789abcdef0", "Description": "SET-002"} in pairs
    assert ledger["Ingress"]["GroupId"] == "{{menshen-settlement-db}}"
    assert "EXC-001 until 2026-03-31T00:00:00+00:00" in body["Exceptions"][0]


def test_laptop_cannot_reach_the_ledger_through_security_groups() -> None:
    """The contractor laptop's address is admitted by no group on the settlement database."""
    seg = load_example()
    groups, attached = _groups(security_groups(seg, T0))
    ledger = Instance(attached["settlement-db"], ip("10.40.0.10"), inside=True)
    laptop = Instance(ip=ip("10.50.0.17"))
    admin = Instance(attached["settlement-admin"], ip("10.30.0.10"), inside=True)
    assert not aws_allows(groups, laptop, ledger, "tcp", 5432)
    assert aws_allows(groups, admin, ledger, "tcp", 5432)


def _groups(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, frozenset[str]]]:
    groups = {group["GroupName"]: group for group in body["SecurityGroups"]}
    attached: dict[str, set[str]] = {}
    for name, group in groups.items():
        for asset_id in group["AttachTo"]:
            attached.setdefault(asset_id, set()).add(name)
    return groups, {key: frozenset(value) for key, value in attached.items()}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seg=models(), data=st.data())
def test_security_groups_agree_with_verdict(seg: Segmentation, data: st.DataObject) -> None:
    """On random models and probes, security groups let through what ``verdict`` does."""
    at = data.draw(st.sampled_from(TIMES))
    body = json.loads(compile_aws(seg, at))
    check_valid(body)
    groups, attached = _groups(body)
    vpc = {a.id for a in seg.inventory.assets if a.kind in WORKLOADS}
    ends: list[tuple[Any, Instance]] = []
    for address in probe_addresses(seg, OUTSIDE):
        owner = seg.inventory.asset_at(address)
        inside = owner is not None and owner.id in vpc
        held = attached.get(owner.id, frozenset()) if owner is not None else frozenset()
        ends.append((address, Instance(held, address, inside)))
    ends += [(a.id, Instance(attached.get(a.id, frozenset()), None, True))
             for a in seg.inventory.assets if a.id in vpc and not a.networks]  # fmt: skip
    ports = [*witness_ports(seg), ("tcp", 41)]
    probes = [(s, d, p) for s in ends for d in ends if s[1].inside or d[1].inside for p in ports]
    passing = [(s, d, p) for s, d, p in probes if expected(seg, s[0], d[0], p[1], p[0], at)]
    rnd = data.draw(st.randoms(use_true_random=False))
    for pool in (probes, passing):
        for _ in range(min(25, len(pool))):
            (src, src_end), (dst, dst_end), (protocol, port) = rnd.choice(pool)
            want = expected(seg, src, dst, port, protocol, at) is not None
            assert aws_allows(groups, src_end, dst_end, protocol, port) == want, (src, dst, port)
