"""Declarative configuration: App, Group, IPList and Policy objects in YAML (apply, export).

Parsing and validation are strict and name file and line; apply validates everything
before writing anything; export re-applies as "unchanged". See docs/policy.md.
"""

from menshen.manifest.apply import Action, ApplyItem, ApplyReport, apply_manifests
from menshen.manifest.export import export_manifests
from menshen.manifest.load import TenantConfig, load_tenant_config
from menshen.manifest.model import (
    AppSpec,
    GroupSpec,
    IPListSpec,
    Manifest,
    PolicySpec,
    ResourceSpec,
    RuleSpec,
)
from menshen.manifest.parse import parse_manifests, to_app_policy

__all__ = [
    "Action",
    "AppSpec",
    "ApplyItem",
    "ApplyReport",
    "GroupSpec",
    "IPListSpec",
    "Manifest",
    "PolicySpec",
    "ResourceSpec",
    "RuleSpec",
    "TenantConfig",
    "apply_manifests",
    "export_manifests",
    "load_tenant_config",
    "parse_manifests",
    "to_app_policy",
]
