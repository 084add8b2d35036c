"""A synthetic firm for the segmentation benchmark: seeded, valid, shaped like a real one.

``generate(assets, flows, seed)`` makes an inventory of workstations (a tenth of them
contractors'), application hosts in four tiers across a hundred applications, databases
with data stores, shared services (gateways, monitoring) and outside parties; a policy of
zones by application, tier and audience, a rule set per application (web → api → database,
cache, batch, a few calls across applications), access through gateways, monitoring,
partner networks, a few expiring exceptions and a handful of rule sets still in monitor
mode; declared data flows (seven in ten along the allowed paths, the rest anywhere); and
observed flows (eight in ten instances of declared flows, the rest noise, some from
addresses no asset owns). The files are what a firm would import: CSV for the inventory,
YAML for the policy.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from menshen.inventory.catalog import Inventory
from menshen.inventory.csvio import assets_csv, data_stores_csv, flows_csv
from menshen.inventory.model import (
    Asset,
    AssetKind,
    Classification,
    DataFlow,
    DataStore,
    Labels,
    ObservedFlow,
    PortRange,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
APPS = 100
TIERS = {"web": "tcp/8080", "api": "tcp/8443", "batch": "tcp/9000", "cache": "tcp/6379"}
TAGS = ("pii", "card-data", "settlement", "credentials")
CLASSES = (
    (Classification.RESTRICTED, 0.2),
    (Classification.CONFIDENTIAL, 0.4),
    (Classification.INTERNAL, 0.3),
    (Classification.PUBLIC, 0.1),
)


@dataclass(frozen=True, slots=True)
class Firm:
    inventory: Inventory
    policy: dict[str, Any]
    observed: tuple[ObservedFlow, ...]

    def write(self, folder: Path) -> list[Path]:
        """The import files: three CSVs and the policy YAML."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / name for name in ("assets.csv", "data-stores.csv", "flows.csv")]
        for path, text in zip(
            paths,
            (
                assets_csv(self.inventory),
                data_stores_csv(self.inventory),
                flows_csv(self.inventory),
            ),
            strict=True,
        ):
            path.write_text(text, encoding="utf-8")
        policy = folder / "policy.yaml"
        policy.write_text(yaml.safe_dump(self.policy, sort_keys=False), encoding="utf-8")
        observed = folder / "observed.csv"
        rows = ["src,dst,port,protocol,count"] + [
            f"{flow.source},{flow.destination},{flow.port},{flow.protocol},{flow.count}"
            for flow in self.observed
        ]
        observed.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return [*paths, policy]


def _address(block: int, index: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"10.{block}.{index // 250}.{index % 250 + 1}/32")


def _assets(count: int, rng: random.Random) -> list[Asset]:
    shares = {"ws": 0.30, "host": 0.48, "db": 0.12, "svc": 0.06}
    sizes = {kind: int(count * share) for kind, share in shares.items()}
    sizes["ext"] = count - sum(sizes.values())
    found: list[Asset] = []
    for n in range(sizes["ws"]):
        group = "contractor" if n % 10 == 0 else "staff"
        labels = {
            "role": "workstation",
            "group": group,
            "env": "corp",
            "location": f"office-{n % 5}",
        }
        found.append(
            Asset(
                f"ws-{n:05d}",
                AssetKind.WORKSTATION,
                f"Laptop {n}",
                "it@firm.example",
                Labels(labels),
                (_address(100 + n // 60000, n % 60000),),
            )
        )
    for n in range(sizes["host"]):
        tier = list(TIERS)[n % 4]
        app = f"app-{n // 4 % APPS:03d}"
        env = rng.choices(["prod", "staging", "dev"], [0.7, 0.2, 0.1])[0]
        labels = {"role": tier, "app": app, "env": env, "location": f"dc{n % 2 + 1}"}
        gateway_apps = (app,) if tier == "web" and n // 4 < APPS else ()
        found.append(
            Asset(
                f"host-{n:05d}",
                AssetKind.HOST,
                f"{app} {tier} {n}",
                f"{app}@firm.example",
                Labels(labels),
                (_address(20 + n // 60000, n % 60000),),
                (),
                (PortRange.parse(TIERS[tier]), PortRange.parse("tcp/9100")),
                gateway_apps,
            )
        )
    for n in range(sizes["db"]):
        app = f"app-{n % APPS:03d}"
        labels = {"role": "database", "app": app, "env": "prod", "location": f"dc{n % 2 + 1}"}
        found.append(
            Asset(
                f"db-{n:05d}",
                AssetKind.DATABASE,
                f"{app} database {n}",
                f"{app}@firm.example",
                Labels(labels),
                (_address(40, n),),
                (),
                (PortRange.parse("tcp/5432"), PortRange.parse("tcp/9100")),
            )
        )
    for n in range(sizes["svc"]):
        if n < 10:
            labels = {"role": "gateway", "audience": "contractor" if n < 2 else "staff"}
            ports: tuple[PortRange, ...] = (PortRange.parse("tcp/443"),)
        else:
            labels = {"role": "monitoring" if n < 20 else "service", "app": f"shared-{n % 7}"}
            ports = (PortRange.parse("tcp/9090"),)
        found.append(
            Asset(
                f"svc-{n:05d}",
                AssetKind.SERVICE,
                f"service {n}",
                "platform@firm.example",
                Labels({**labels, "env": "prod"}),
                (_address(50, n),),
                (),
                ports,
            )
        )
    kinds = (AssetKind.PARTNER_API, AssetKind.THIRD_PARTY_API, AssetKind.SAAS)
    for n in range(sizes["ext"]):
        kind = kinds[n % 3]
        nets = (
            ()
            if kind is AssetKind.SAAS
            else (ipaddress.ip_network(f"198.18.{n // 250}.{n % 250 + 1}/32"),)
        )
        found.append(
            Asset(
                f"ext-{n:05d}",
                kind,
                f"outside party {n}",
                "partners@firm.example",
                Labels({"role": kind.value.replace("_", "-")}),
                nets,
                (f"api{n}.partner.example",),
                (PortRange.parse("tcp/443"),),
            )
        )
    return found


def _stores(assets: list[Asset], rng: random.Random) -> list[DataStore]:
    stores = []
    for asset in assets:
        if asset.kind in (AssetKind.DATABASE, AssetKind.SAAS) or (
            asset.kind is AssetKind.HOST and rng.random() < 0.1
        ):
            for k in range(1 + (asset.kind is AssetKind.DATABASE and rng.random() < 0.5)):
                level = rng.choices([c for c, _ in CLASSES], [w for _, w in CLASSES])[0]
                tags = tuple(rng.sample(TAGS, rng.randint(0, 2)))
                records = int(10 ** rng.uniform(1, 7))
                stores.append(
                    DataStore(f"{asset.id}-s{k}", asset.id, level, tags=tags, records=records)
                )
    return stores


def _flows(assets: list[Asset], count: int, rng: random.Random) -> list[DataFlow]:
    by_role: dict[tuple[str, str], list[Asset]] = {}
    for asset in assets:
        by_role.setdefault((asset.labels.get("role", ""), asset.labels.get("app", "")), []).append(
            asset
        )
    paths = [("web", "api"), ("api", "database"), ("batch", "database"), ("api", "cache")]
    flows: list[DataFlow] = []
    for _ in range(count * 3):  # bounded: most draws make a flow
        if len(flows) == count:
            break
        n = len(flows)
        if rng.random() < 0.7:
            source_role, target_role = rng.choice(paths)
            app = f"app-{rng.randrange(APPS):03d}"
            sources, targets = by_role.get((source_role, app)), by_role.get((target_role, app))
            if not sources or not targets:
                continue
            source, target = rng.choice(sources), rng.choice(targets)
        else:
            source, target = rng.sample(assets, 2)
        ports = target.ports[:1] or (PortRange.parse("tcp/443"),)
        level = rng.choices([c for c, _ in CLASSES], [w for _, w in CLASSES])[0]
        flows.append(
            DataFlow(
                f"flow-{n:06d}",
                source.id,
                target.id,
                ports,
                level,
                tuple(rng.sample(TAGS, rng.randint(0, 1))),
                encrypted=rng.random() < 0.6,
            )
        )
    return flows


def _policy(rng: random.Random) -> dict[str, Any]:
    zones: list[dict[str, Any]] = [
        {"name": "staff-laptops", "select": {"labels": {"role": "workstation", "group": "staff"}}},
        {
            "name": "contractor-laptops",
            "select": {"labels": {"role": "workstation", "group": "contractor"}},
        },
        {"name": "staff-gateway", "select": {"labels": {"role": "gateway", "audience": "staff"}}},
        {
            "name": "contractor-gateway",
            "select": {"labels": {"role": "gateway", "audience": "contractor"}},
        },
        {"name": "monitoring", "select": {"labels": {"role": "monitoring"}}},
        {"name": "scraped", "select": {"groups": ["scraped-roles"]}},
        {"name": "partners", "cidrs": ["198.18.0.0/16"]},
    ]
    zones += [
        {"name": f"tier-{t}", "select": {"labels": {"role": t}}} for t in (*TIERS, "database")
    ]
    rule_sets: list[dict[str, Any]] = [
        {
            "name": "access",
            "rules": [
                {
                    "id": "ACC-1",
                    "from": ["staff-laptops"],
                    "to": ["staff-gateway"],
                    "ports": ["tcp/443"],
                },
                {
                    "id": "ACC-2",
                    "from": ["contractor-laptops"],
                    "to": ["contractor-gateway"],
                    "ports": ["tcp/443"],
                },
                {
                    "id": "ACC-3",
                    "from": ["staff-gateway"],
                    "to": ["tier-web"],
                    "ports": ["tcp/8080"],
                },
                {
                    "id": "ACC-4",
                    "from": ["contractor-gateway"],
                    "to": [{"labels": {"role": "web", "app": [f"app-{a:03d}" for a in range(5)]}}],
                    "ports": ["tcp/8080"],
                },
            ],
        },
        {
            "name": "monitoring",
            "rules": [
                {"id": "MON-1", "from": ["monitoring"], "to": ["scraped"], "ports": ["tcp/9100"]}
            ],
        },
    ]
    for a in range(APPS):
        app = f"app-{a:03d}"
        zones.append({"name": app, "select": {"labels": {"app": app}}})
        zones.append({"name": f"{app}-db", "select": {"labels": {"app": app, "role": "database"}}})
        other = f"app-{rng.randrange(APPS):03d}"

        def tier(role: str, app: str = app) -> dict[str, Any]:
            return {"labels": {"app": app, "role": role}}

        rules = [
            {"id": f"{app}-1", "from": [tier("web")], "to": [tier("api")], "ports": ["tcp/8443"]},
            {"id": f"{app}-2", "from": [tier("api")], "to": [f"{app}-db"], "ports": ["tcp/5432"]},
            {"id": f"{app}-3", "from": [tier("batch")], "to": [f"{app}-db"], "ports": ["tcp/5432"]},
            {"id": f"{app}-4", "from": [tier("api")], "to": [tier("cache")], "ports": ["tcp/6379"]},
            {
                "id": f"{app}-5",
                "from": [tier("api")],
                "to": [tier("api", other)],
                "ports": ["tcp/8443"],
            },
        ]
        if a % 10 == 0:
            rules.append(
                {"id": f"{app}-6", "from": ["partners"], "to": [tier("api")], "ports": ["tcp/8443"]}
            )
            rules.append(
                {
                    "id": f"{app}-7",
                    "from": [tier("batch")],
                    "to": ["partners"],
                    "ports": ["tcp/443"],
                }
            )
        body: dict[str, Any] = {"name": app, "rules": rules}
        if a % 20 == 0:
            body |= {"mode": "monitor", "scope": [f"{app}-db"]}
        if a % 7 == 0:
            expires = (T0 + timedelta(days=rng.randint(-30, 90))).date().isoformat()
            body["exceptions"] = [
                {
                    "id": f"{app}-x",
                    "from": ["staff-laptops"],
                    "to": [f"{app}-db"],
                    "ports": ["tcp/5432"],
                    "owner": "cto@firm.example",
                    "expires": expires,
                }
            ]
        rule_sets.append(body)
    return {
        "apiVersion": "menshen.dev/v1",
        "kind": "Segmentation",
        "metadata": {"name": "synthetic"},
        "spec": {
            "labelGroups": [
                {"name": "scraped-roles", "key": "role", "values": [*TIERS, "database"]}
            ],
            "zones": zones,
            "ruleSets": rule_sets,
        },
    }


def _observed(inventory: Inventory, count: int, rng: random.Random) -> list[ObservedFlow]:
    """``count`` distinct observed flows: most are declared flows seen, the rest noise."""
    addresses = {a.id: a.networks[0].network_address for a in inventory.assets if a.networks}
    declared = [f for f in inventory.flows if f.source in addresses and f.destination in addresses]
    rng.shuffle(declared)
    targets = list(addresses.values())
    unknown = [ipaddress.IPv4Address(f"10.250.{n // 250}.{n % 250 + 1}") for n in range(300)]
    seen: set[tuple[object, object, int]] = set()
    found: list[ObservedFlow] = []
    for n in range(count * 4):  # bounded: nearly every draw is new
        if len(found) == count:
            break
        if n < len(declared) and len(found) < count * 0.8:
            flow = declared[n]
            source, target = addresses[flow.source], addresses[flow.destination]
            port = flow.ports[0].first
        else:
            if rng.random() < 0.5:  # one of 300 machines nobody declared
                source = unknown[rng.randrange(len(unknown))]
            else:
                source = rng.choice(targets)
            target = rng.choice(targets)
            port = rng.choice([22, 443, 5432, 8080, 8443, 9100])
        if (source, target, port) not in seen:
            seen.add((source, target, port))
            found.append(ObservedFlow(source, target, port, "tcp", rng.randint(1, 500)))
    return found


def generate(assets: int, flows: int, seed: int) -> Firm:
    """The synthetic firm (same arguments, same firm)."""
    rng = random.Random(seed)
    found = _assets(assets, rng)
    inventory = Inventory(
        tuple(found), tuple(_stores(found, rng)), tuple(_flows(found, flows, rng))
    )
    return Firm(inventory, _policy(rng), tuple(_observed(inventory, flows, rng)))
