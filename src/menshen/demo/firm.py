"""Seed the demo firm Formosa Pay: groups, apps, policies, three people, its inventory.

Idempotent: running the demo again keeps existing users and their secrets. The inventory and
segmentation model is the shipped worked example (``segmentation/examples/formosa-pay.yaml``),
loaded once into an empty tenant so later edits survive a restart.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from menshen.app import Platform
from menshen.identity import totp
from menshen.manifest.apply import apply_manifests
from menshen.manifest.parse import parse_manifests
from menshen.segmentation import repository
from menshen.segmentation.files import load_example
from menshen.store.records import TotpRecord

TENANT = "formosa-pay"
FIRM_NAME = "Formosa Pay"

_MANIFEST = """\
apiVersion: menshen.dev/v1
kind: Group
metadata: {{name: finance-ops}}
spec: {{description: Settlement and reconciliation staff, mfaRequired: true}}
---
apiVersion: menshen.dev/v1
kind: Group
metadata: {{name: contractors}}
spec: {{description: Outside contractors (wiki only), mfaRequired: false}}
---
apiVersion: menshen.dev/v1
kind: Group
metadata: {{name: admins}}
spec: {{description: menshen administrators, mfaRequired: true}}
---
apiVersion: menshen.dev/v1
kind: App
metadata: {{name: settlement}}
spec:
  title: Settlement admin
  hosts: [{hosts}]
  pathPrefix: /settlement
  upstream: {settlement}
---
apiVersion: menshen.dev/v1
kind: App
metadata: {{name: wiki}}
spec:
  title: Team wiki
  hosts: [{hosts}]
  pathPrefix: /wiki
  upstream: {wiki}
---
apiVersion: menshen.dev/v1
kind: Policy
metadata: {{name: settlement-access}}
spec:
  app: settlement
  rules:
    - name: contractors-never
      effect: deny
      groups: [contractors]
    - name: finance-ops-with-fresh-mfa
      groups: [finance-ops, admins]
      mfa: {{required: true, maxAge: 12h}}
---
apiVersion: menshen.dev/v1
kind: Policy
metadata: {{name: wiki-access}}
spec:
  app: wiki
  rules:
    - name: wiki-admin-pages-staff-only
      effect: deny
      groups: [contractors]
      paths: [/wiki/admin]
    - name: everyone-reads-and-edits
      groups: [finance-ops, contractors, admins]
"""


_CONSOLE = """\
---
apiVersion: menshen.dev/v1
kind: App
metadata: {{name: console}}
spec:
  title: menshen console
  hosts: [{hosts}]
  pathPrefix: /console
  upstream: {console}
---
apiVersion: menshen.dev/v1
kind: Policy
metadata: {{name: console-access}}
spec:
  app: console
  rules:
    - name: admins-with-fresh-mfa
      groups: [admins]
      mfa: {{required: true, maxAge: 12h}}
"""


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    password: str
    email: str
    groups: tuple[str, ...]
    totp_secret: str | None


_PEOPLE = (
    ("alice", "Alice Lin", "alice@formosapay.example", ("finance-ops",), True),
    ("bob", "Bob Chen", "bob@contractor.example", ("contractors",), False),
    ("admin", "Mei Admin", "admin@formosapay.example", ("admins", "finance-ops"), True),
)


def demo_manifest(
    settlement_url: str, wiki_url: str, hosts: tuple[str, ...], console_url: str | None = None
) -> str:
    """The firm's config; with ``console_url`` also the console App, for admins with MFA."""
    text = _MANIFEST.format(settlement=settlement_url, wiki=wiki_url, hosts=", ".join(hosts))
    if console_url is not None:
        text += _CONSOLE.format(console=console_url, hosts=", ".join(hosts))
    return text


def seed(
    platform: Platform,
    *,
    settlement_url: str,
    wiki_url: str,
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
    known: dict[str, DemoUser] | None = None,
    console_url: str | None = None,
) -> dict[str, DemoUser]:
    """Apply the firm's config and create its people; returns their credentials."""
    tenant_id = platform.settings.tenant
    tenant = platform.store.tenant(tenant_id)
    text = demo_manifest(settlement_url, wiki_url, hosts, console_url)
    manifests = parse_manifests(text, "<demo>")
    apply_manifests(tenant, manifests, clock=platform.clock)
    identity = platform.identity(tenant_id)
    people: dict[str, DemoUser] = {}
    for username, name, email, groups, wants_totp in _PEOPLE:
        previous = (known or {}).get(username)
        user = tenant.users.by_username(username)
        if user is None or previous is None:
            password = secrets.token_urlsafe(12)
            if user is None:
                user = identity.create_user(username, email, name, password)
            else:
                identity.set_password(user.id, password)
        else:
            password = previous.password
        for group in groups:
            identity.add_member(group, username)
        secret = previous.totp_secret if previous is not None else None
        if wants_totp and (secret is None or not identity.has_totp(user.id)):
            secret = totp.generate_secret(secrets.token_bytes)
            tenant.credentials.put_totp(
                TotpRecord(
                    tenant_id=tenant_id,
                    user_id=user.id,
                    secret_sealed=platform.seal_totp(tenant_id, totp.decode_secret(secret)),
                    confirmed=True,
                    last_used_step=None,
                    created_at=platform.clock.now(),
                )
            )
        people[username] = DemoUser(username, password, email, groups, secret)
    return people


def seed_inventory(platform: Platform) -> bool:
    """Load the worked example into a tenant with no inventory yet; True if it did."""
    tenant = platform.store.tenant(platform.settings.tenant)
    if tenant.config.list("Asset"):
        return False
    repository.save(tenant, load_example(), clock=platform.clock)
    return True


def write_credentials(path: Path, people: dict[str, DemoUser], base_url: str) -> None:
    """The demo's secrets, readable by the owner only. Fake people, fake firm."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "warning": "Demo credentials for a fake firm. Never reuse them.",
        "gateway": base_url,
        "users": {name: asdict(user) for name, user in people.items()},
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(payload, out, indent=2)


def read_credentials(path: Path) -> dict[str, DemoUser]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            name: DemoUser(
                username=item["username"],
                password=item["password"],
                email=item["email"],
                groups=tuple(item["groups"]),
                totp_secret=item["totp_secret"],
            )
            for name, item in data["users"].items()
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}
