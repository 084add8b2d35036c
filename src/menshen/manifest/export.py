"""Export a tenant's declarative objects as YAML that ``apply`` takes back as "unchanged".

Defaults and empty values are left out to keep the file readable; everything else is the
normalised spec as stored, so export → apply is a fixed point.
"""

from __future__ import annotations

from typing import Any

import yaml

from menshen.manifest.load import stored_apps, stored_ip_lists, stored_policies
from menshen.manifest.model import API_VERSION, GroupSpec
from menshen.manifest.schema import check_name, check_principal
from menshen.store.api import TenantStore

HEADER = "# menshen export: apply with `menshen apply -f <this file>`\n"


def export_manifests(tenant_store: TenantStore) -> str:
    """Groups, IP lists, Apps and Policies of the tenant, by name, as multi-document YAML.

    Groups whose name or members cannot be written in a manifest (created by identity
    federation, say) are listed in a comment instead.
    """
    documents: list[dict[str, Any]] = []
    skipped: list[str] = []
    for group in sorted(tenant_store.groups.list(), key=lambda record: record.name):
        members = sorted(user.username for user in tenant_store.groups.members(group.id))
        if not _writable(group.name, members):
            skipped.append(group.name)
            continue
        spec = GroupSpec(group.name, group.description, group.mfa_required, tuple(members))
        documents.append(_document("Group", group.name, spec.to_json()))
    for ip_list in stored_ip_lists(tenant_store):
        documents.append(_document("IPList", ip_list.name, ip_list.to_json()))
    for app in stored_apps(tenant_store):
        documents.append(_document("App", app.name, app.to_json()))
    for policy in stored_policies(tenant_store):
        documents.append(_document("Policy", policy.name, policy.to_json()))
    notes = "".join(
        f"# skipped group {name!r}: not expressible in a manifest\n" for name in skipped
    )
    body = yaml.safe_dump_all(
        documents, sort_keys=False, explicit_start=True, allow_unicode=True, width=100
    )
    return HEADER + notes + (body if documents else "")


def _writable(name: str, members: list[str]) -> bool:
    try:
        check_name(name)
        for member in members:
            check_principal(member)
    except ValueError:
        return False
    return True


def _document(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name},
        "spec": _compact(spec),
    }


VERBATIM = frozenset({"when", "conditions"})
"""Keys whose values are conditions: ``posture: {x: false}`` means something, keep it."""


def _compact(value: Any) -> Any:
    """Drop empty and default-false values from mappings, recursively; keep list items."""
    if isinstance(value, dict):
        kept = {key: item if key in VERBATIM else _compact(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if not _empty(item)}
    if isinstance(value, list):
        return [_compact(item) for item in value]
    return value


def _empty(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)
