"""The nftables ruleset really enforces the model: four hosts and a router in namespaces.

A workstation, an app server, the settlement database and a partner bank each live in a
network namespace, cabled by veth pairs to a router namespace that forwards between
10.231.1.0/24 … 10.231.4.0/24 and loads the compiled ruleset with ``nft -f``. Every host
listens on the ports of the model; every (source, destination, port) is tried, and it must
connect exactly when ``Segmentation.allows`` says so — in particular the workstation must
not reach the database on 5432. The router itself reaches every listener (its own traffic
is not forwarded), which proves a refused connection was filtered, not unanswered.

Everything the test makes is named ``menshen-e2e-<pid>-…`` and removed afterwards, even on
failure; namespaces left by a run that died (its pid gone) are removed first.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from menshen.segmentation import Segmentation
from menshen.segmentation.compile import compile_nftables
from menshen.segmentation.files import build, parse_text
from tests.conftest import require_service

pytestmark = pytest.mark.e2e
PREFIX = "menshen-e2e-"
AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TIMEOUT = 1.0
ATTEMPTS = 2

MODEL = """
apiVersion: menshen.dev/v1
kind: Inventory
metadata: {name: netns}
spec:
  assets:
    - {id: laptop, kind: workstation, labels: {role: workstation}, addresses: [10.231.1.2],
       ports: [tcp/22]}
    - {id: app, kind: host, labels: {role: web, app: settlement}, addresses: [10.231.2.2],
       ports: [tcp/8080, tcp/8443, tcp/5432]}
    - {id: ledger, kind: database, labels: {role: database, app: settlement},
       addresses: [10.231.3.2], ports: [tcp/5432, tcp/8080]}
    - {id: bank, kind: partner_api, labels: {role: partner}, addresses: [10.231.4.2],
       ports: [tcp/443, tcp/8080]}
---
apiVersion: menshen.dev/v1
kind: Segmentation
metadata: {name: netns}
spec:
  zones:
    - {name: workstations, select: {labels: {role: workstation}}}
    - {name: apps, select: {labels: {role: web}}}
    - {name: settlement-db, select: {labels: {role: database, app: settlement}}}
    - {name: partner, cidrs: [10.231.4.0/24]}
  ruleSets:
    - name: core
      rules:
        - {id: WS-APP, from: [workstations], to: [apps], ports: [tcp/8080]}
        - {id: APP-DB, from: [apps], to: [settlement-db], ports: [tcp/5432]}
        - {id: BANK-APP, from: [partner], to: [apps], ports: [tcp/8443]}
        - {id: APP-BANK, from: [apps], to: [partner], ports: [tcp/443]}
"""
HOSTS = {"laptop": 1, "app": 2, "ledger": 3, "bank": 4}

LISTEN = """
import select, socket, sys
servers = []
for port in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(16); servers.append(s)
print("ready", flush=True)
while True:
    for s in select.select(servers, [], [])[0]:
        s.accept()[0].close()
"""
PROBE = """
import json, socket, sys, concurrent.futures as cf
timeout, attempts = float(sys.argv[1]), int(sys.argv[2])
def tryit(target):
    host, port = target.rsplit(":", 1)
    for _ in range(attempts):
        try:
            socket.create_connection((host, int(port)), timeout=timeout).close()
            return True
        except OSError:
            pass
    return False
targets = sys.argv[3:]
with cf.ThreadPoolExecutor(len(targets) or 1) as pool:
    print(json.dumps(dict(zip(targets, pool.map(tryit, targets)))))
"""


def run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True, timeout=30)


def _leftovers() -> None:
    """Remove namespaces of earlier runs whose process is gone."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    for line in listed.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@dataclass
class Lab:
    seg: Segmentation
    router: str
    hosts: dict[str, str]  # asset id -> namespace

    def probe(self, source_ns: str, targets: list[str]) -> subprocess.Popen[str]:
        command = ["ip", "netns", "exec", source_ns, sys.executable, "-c", PROBE]
        return subprocess.Popen(
            [*command, str(TIMEOUT), str(ATTEMPTS), *targets], stdout=subprocess.PIPE, text=True
        )


def _require_tools() -> None:
    if os.geteuid() != 0:
        require_service("network namespaces", "the test needs root")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            require_service(tool, f"{tool} is not installed (scripts/ensure-system-deps.sh)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    _require_tools()
    _leftovers()
    base = f"{PREFIX}{os.getpid()}-"
    router = base + "router"
    hosts = {asset: base + asset for asset in HOSTS}
    made: list[str] = []
    listeners: list[subprocess.Popen[str]] = []
    seg = build(parse_text(MODEL, "netns.yaml"))
    try:
        try:
            run("ip", "netns", "add", router)
        except subprocess.CalledProcessError as exc:
            require_service("ip netns", exc.stderr.strip())
        made.append(router)
        run("ip", "-n", router, "link", "set", "lo", "up")
        for asset, index in HOSTS.items():
            ns = hosts[asset]
            run("ip", "netns", "add", ns)
            made.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "link", "add", f"r{index}", "netns", router, "type", "veth",
                "peer", "name", "eth0", "netns", ns)  # fmt: skip
            run("ip", "-n", router, "addr", "add", f"10.231.{index}.1/24", "dev", f"r{index}")
            run("ip", "-n", router, "link", "set", f"r{index}", "up")
            run("ip", "-n", ns, "addr", "add", f"10.231.{index}.2/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "route", "add", "default", "via", f"10.231.{index}.1")
        run("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        rules = tmp_path_factory.mktemp("nft") / "ruleset.nft"
        rules.write_text(compile_nftables(seg, AT), encoding="utf-8")
        run("ip", "netns", "exec", router, "nft", "-f", str(rules))
        for asset, ns in hosts.items():
            found = seg.inventory.asset(asset)
            assert found is not None
            ports = [str(item.first) for item in found.ports]
            listener = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-c", LISTEN, *ports],
                stdout=subprocess.PIPE,
                text=True,
            )
            listeners.append(listener)
            assert listener.stdout is not None
            assert listener.stdout.readline().strip() == "ready"
        yield Lab(seg, router, hosts)
    finally:
        for listener in listeners:
            listener.kill()
            listener.communicate(timeout=10)
        for ns in reversed(made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def _targets(seg: Segmentation, exclude: str | None) -> list[str]:
    found = []
    for asset_id, index in HOSTS.items():
        asset = seg.inventory.asset(asset_id)
        if asset is None or asset_id == exclude:
            continue
        found += [f"10.231.{index}.2:{item.first}" for item in asset.ports]
    return found


def _results(process: subprocess.Popen[str]) -> dict[str, bool]:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    result: dict[str, bool] = json.loads(out)
    return result


def test_router_reaches_every_listener(lab: Lab) -> None:
    """From the router (not forwarded, so not filtered) every listener answers."""
    results = _results(lab.probe(lab.router, _targets(lab.seg, None)))
    assert results
    assert all(results.values()), results


def test_allowed_flows_connect_and_all_others_do_not(lab: Lab) -> None:
    """Each flow connects exactly when the model allows it; the laptop never reaches 5432."""
    probes = {asset: lab.probe(ns, _targets(lab.seg, asset)) for asset, ns in lab.hosts.items()}
    seen: dict[tuple[str, str], bool] = {}
    for asset, process in probes.items():
        for target, connected in _results(process).items():
            seen[(asset, target)] = connected
    allowed = set()
    for (asset, target), connected in sorted(seen.items()):
        host, port = target.rsplit(":", 1)
        source = ipaddress.ip_address(f"10.231.{HOSTS[asset]}.2")
        match = lab.seg.allows(source, ipaddress.ip_address(host), int(port), "tcp", AT)
        assert connected == (match is not None), (asset, target, match)
        if match is not None:
            allowed.add(match.rule_id)
    assert allowed == {"WS-APP", "APP-DB", "BANK-APP", "APP-BANK"}
    assert seen[("laptop", "10.231.3.2:5432")] is False
    assert seen[("app", "10.231.3.2:5432")] is True
    assert seen[("laptop", "10.231.2.2:5432")] is False
