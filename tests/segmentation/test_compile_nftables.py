"""The nftables compiler: ``nft -c`` accepts it, and it decides as ``verdict`` does."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.inventory import Asset, AssetKind, Inventory, Labels, PortRange
from menshen.segmentation import (
    FlowException,
    Mode,
    Rule,
    RuleSet,
    Segmentation,
    SegmentationPolicy,
    Selector,
    Zone,
)
from menshen.segmentation.compile import build_ruleset, compile_nftables
from menshen.segmentation.files import load_example
from tests.conftest import require_service
from tests.segmentation.compile_evaluators import NftRuleset, expected, probe_addresses
from tests.segmentation.oracle import OUTSIDE, T0, TIMES, models, witness_ports

ip = ipaddress.ip_address
net = ipaddress.ip_network
SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def nft_check(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``nft -c -f`` on ``text`` (skipped locally without nft or root; a failure on CI)."""
    nft = shutil.which("nft") or ("/usr/sbin/nft" if Path("/usr/sbin/nft").exists() else None)
    if nft is None:
        require_service("nft", "nftables is not installed")
    if os.geteuid() != 0:
        require_service("nft -c", "checking a ruleset needs root (netlink)")
    path = tmp_path / "ruleset.nft"
    path.write_text(text, encoding="utf-8")
    return subprocess.run([nft, "-c", "-f", str(path)], capture_output=True, text=True, check=False)


def formosa() -> Segmentation:
    return load_example()


def test_formosa_ruleset_passes_nft_check(tmp_path: Path) -> None:
    """The reference firm's ruleset is accepted by ``nft -c -f``."""
    done = nft_check(compile_nftables(formosa(), T0), tmp_path)
    assert done.returncode == 0, done.stderr


def test_ruleset_has_default_drop_state_and_logging() -> None:
    """Base chains drop by default, pass established traffic, log drops with a rate limit."""
    text = compile_nftables(formosa(), T0)
    assert "table inet menshen {" in text
    assert "delete table inet menshen" in text
    assert text.count("policy drop;") == 2
    assert text.count("ct state established,related accept") == 2
    assert text.count("ct state invalid drop") == 2
    assert 'iif "lo" accept' in text
    assert 'limit rate 5/second burst 10 packets log prefix "menshen-drop forward: "' in text
    assert "set zone_settlement-db_v4 {" in text
    assert "type ipv4_addr" in text


def test_every_rule_is_annotated_with_its_rule_id() -> None:
    """Each accept in the allow chain names the rule (or monitor set) it came from."""
    ruleset = build_ruleset(formosa(), T0)
    ids = {rule.comment for rule in ruleset.allow}
    assert {"ACC-001", "SET-001", "EXC-001", "MER-001", "monitor:merchant"} <= ids
    assert all(rule.comment for rule in ruleset.allow)


def test_workstation_cannot_reach_settlement_database() -> None:
    """Contractor laptop to the ledger on 5432: no rule accepts it."""
    ruleset = NftRuleset.parse(compile_nftables(formosa(), T0))
    laptop, ledger = ip("10.50.0.17"), ip("10.40.0.10")
    assert ruleset.evaluate(laptop, ledger, "tcp", 5432) is None
    assert ruleset.evaluate(ip("10.30.0.10"), ledger, "tcp", 5432) == "SET-001"
    assert ruleset.evaluate(laptop, ip("10.40.0.11"), "tcp", 5432) == "monitor:merchant"


def test_expired_exception_is_left_out() -> None:
    """After its expiry date the DBA exception is gone from the ruleset (and said so)."""
    later = formosa()
    from datetime import UTC, datetime

    text = compile_nftables(later, datetime(2026, 4, 1, tzinfo=UTC))
    assert 'comment "EXC-001"' not in text
    assert "# EXC-001: exception expired 2026-03-31T00:00:00+00:00; left out" in text
    ruleset = NftRuleset.parse(text)
    assert ruleset.evaluate(ip("10.10.0.11"), ip("10.40.0.10"), "tcp", 5432) is None


def test_ports_merge_and_ipv6_sets() -> None:
    """Overlapping port ranges merge (nft refuses overlapping intervals); IPv6 gets ip6."""
    assets = (
        Asset(
            "a", AssetKind.HOST, labels=Labels({"role": "web"}), networks=(net("2001:db8::/64"),)
        ),
        Asset("b", AssetKind.HOST, labels=Labels({"role": "db"}), networks=(net("10.0.0.0/24"),)),
    )
    ports = tuple(PortRange.parse(p) for p in ("tcp/1-10", "tcp/5-20", "tcp/21", "udp/53"))
    rule = Rule("R", (Selector.of({"role": "web"}),), ("zb",), ports)
    policy = SegmentationPolicy(
        zones=(Zone("zb", cidrs=(net("10.0.0.0/16"), net("2001:db8:1::/48"))),),
        rule_sets=(RuleSet("rs", rules=(rule,)),),
    )
    text = compile_nftables(Segmentation(Inventory(assets), policy), T0)
    assert "ip6 saddr @labels_" in text
    assert "tcp dport 1-21" in text
    assert "udp dport 53" in text
    assert "ip saddr" not in text  # no IPv4 source: no IPv4 rule


@SLOW
@given(seg=models())
def test_random_rulesets_pass_nft_check(
    seg: Segmentation, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever the model, the printed ruleset is valid nftables syntax."""
    for at in TIMES:
        done = nft_check(compile_nftables(seg, at), tmp_path_factory.mktemp("nft"))
        assert done.returncode == 0, done.stderr


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seg=models(), data=st.data())
def test_compiled_ruleset_agrees_with_verdict(seg: Segmentation, data: st.DataObject) -> None:
    """On random models and probes, the ruleset accepts by the rule ``verdict`` names."""
    at = data.draw(st.sampled_from(TIMES))
    ruleset = NftRuleset.parse(compile_nftables(seg, at))
    addresses = probe_addresses(seg, OUTSIDE)
    ports = [*witness_ports(seg), ("tcp", 41), ("udp", 40)]
    rnd = data.draw(st.randoms(use_true_random=False))
    for _ in range(60):
        src = rnd.choice(addresses)
        dst = rnd.choice([a for a in addresses if a.version == src.version])
        protocol, port = rnd.choice(ports)
        got = ruleset.evaluate(src, dst, protocol, port)
        assert got == expected(seg, src, dst, port, protocol, at), (src, dst, protocol, port)


def test_monitor_set_overlapping_enforce_scope_is_not_monitored() -> None:
    """Where an enforce set covers an address too, enforce wins: no monitor accept for it."""
    zones = (
        Zone("wide", cidrs=(net("198.51.100.0/24"),)),
        Zone("bank", cidrs=(net("198.51.100.0/26"),)),
    )
    rule_sets = (
        RuleSet("a-watch", Mode.MONITOR, ("wide",)),
        RuleSet("b-enforce", Mode.ENFORCE, ("bank",), rules=()),
    )
    seg = Segmentation(Inventory(), SegmentationPolicy(zones=zones, rule_sets=rule_sets))
    ruleset = NftRuleset.parse(compile_nftables(seg, T0))
    assert ruleset.evaluate(ip("10.0.0.1"), ip("198.51.100.200"), "tcp", 1) == "monitor:a-watch"
    assert ruleset.evaluate(ip("10.0.0.1"), ip("198.51.100.7"), "tcp", 1) is None


def test_exception_order_follows_allows() -> None:
    """A rule and an exception both allowing a flow: the rule is named, as ``allows`` does."""
    web = Selector.of({"role": "web"})
    tcp = (PortRange.parse("tcp/80"),)
    exc = FlowException("E1", (web,), (web,), tcp, "owner", TIMES[2])
    rule_set = RuleSet("rs", rules=(Rule("R1", (web,), (web,), tcp),), exceptions=(exc,))
    assets = (
        Asset("x", AssetKind.HOST, labels=Labels({"role": "web"}), networks=(net("10.0.0.1/32"),)),
        Asset("y", AssetKind.HOST, labels=Labels({"role": "web"}), networks=(net("10.0.0.2/32"),)),
    )
    seg = Segmentation(Inventory(assets), SegmentationPolicy(rule_sets=(rule_set,)))
    ruleset = NftRuleset.parse(compile_nftables(seg, T0))
    assert ruleset.evaluate(ip("10.0.0.1"), ip("10.0.0.2"), "tcp", 80) == "R1"
