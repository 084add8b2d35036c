"""Read the applied objects back from the store: what the gateway loads at start and on reload.

Stored specs are validated again on the way out (the console edits the same rows), and the
tenant's policies are compiled here, once, off the request path (DESIGN.md §3).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from menshen.errors import ConfigError, InvalidInput
from menshen.manifest.model import AppSpec, GroupSpec, IPListSpec, PolicySpec
from menshen.manifest.parse import to_app_policy
from menshen.manifest.schema import spec_of
from menshen.manifest.when import SpecProblem
from menshen.policy.compile import CompiledPolicy, compile_policies
from menshen.policy.model import DataLabel, Network
from menshen.store.api import TenantStore
from menshen.store.records import ConfigObjectRecord

STORE_SOURCE = "<store>"


@dataclass(frozen=True, slots=True)
class TenantConfig:
    """A tenant's apps (by name) and its compiled policy."""

    apps: tuple[AppSpec, ...]
    policy: CompiledPolicy


def load_tenant_config(tenant_store: TenantStore) -> TenantConfig:
    """Apps and compiled policy of ``tenant_store``'s tenant.

    Raises ``ConfigError`` if a stored object is invalid; a reloading caller keeps the
    configuration it already has.
    """
    apps = stored_apps(tenant_store)
    policies = stored_policies(tenant_store)
    ip_lists = stored_ip_lists(tenant_store)
    return TenantConfig(
        apps=tuple(apps),
        policy=compile_tenant_policy(tenant_store.tenant_id, policies, apps, ip_lists),
    )


def compile_tenant_policy(
    tenant_id: str,
    policies: Sequence[PolicySpec],
    apps: Sequence[AppSpec] = (),
    ip_lists: Sequence[IPListSpec] = (),
) -> CompiledPolicy:
    """Compile Policies (ordered by name, so every replica compiles the same thing).

    Apps give their data labels; IP lists are the tenant's named lists.
    """
    ordered = sorted(policies, key=lambda policy: policy.name)
    labels = {
        app.name: DataLabel(app.sensitivity or "internal", frozenset(app.data_tags))
        for app in apps
        if app.sensitivity is not None or app.data_tags
    }
    lists: dict[str, tuple[Network, ...]] = {
        spec.name: tuple(ipaddress.ip_network(net) for net in spec.networks) for spec in ip_lists
    }
    try:
        return compile_policies(
            tenant_id,
            [to_app_policy(policy) for policy in ordered],
            app_labels=labels,
            ip_lists=lists,
        )
    except InvalidInput as exc:
        raise ConfigError(f"the policies do not compile: {exc}", source=STORE_SOURCE) from None


def stored_apps(tenant_store: TenantStore) -> list[AppSpec]:
    """Every stored App, by name."""
    apps = [decode_record(record) for record in tenant_store.config.list("App")]
    return sorted((app for app in apps if isinstance(app, AppSpec)), key=lambda app: app.name)


def stored_policies(tenant_store: TenantStore) -> list[PolicySpec]:
    """Every stored Policy, by name."""
    specs = [decode_record(record) for record in tenant_store.config.list("Policy")]
    policies = [spec for spec in specs if isinstance(spec, PolicySpec)]
    return sorted(policies, key=lambda policy: policy.name)


def stored_ip_lists(tenant_store: TenantStore) -> list[IPListSpec]:
    """Every stored IPList, by name."""
    specs = [decode_record(record) for record in tenant_store.config.list("IPList")]
    lists = [spec for spec in specs if isinstance(spec, IPListSpec)]
    return sorted(lists, key=lambda spec: spec.name)


def decode_record(record: ConfigObjectRecord) -> AppSpec | GroupSpec | IPListSpec | PolicySpec:
    """The typed spec of a stored object; ``ConfigError`` if it no longer validates."""
    try:
        return spec_of(record.kind, record.name, record.spec)
    except (ValidationError, KeyError, SpecProblem) as exc:
        raise ConfigError(
            f"stored {record.kind}/{record.name} is invalid: {exc}", source=STORE_SOURCE
        ) from None
