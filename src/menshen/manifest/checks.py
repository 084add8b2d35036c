"""Checks across objects: unique names, one app per route, policies for real apps.

Run on one file by ``parse_manifests`` and again by ``apply_manifests`` on the union of
the files and what the store already holds, so that no apply leaves the gateway with two
apps claiming one route or a policy guarding nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from menshen.errors import ConfigError
from menshen.manifest.model import AppSpec, Manifest, PolicySpec
from menshen.policy.conditions import AllOf, AnyOf, Condition, Not, SourceIn

Route = tuple[str, str]
"""(host, path prefix): the key the gateway routes by."""


def check_unique(manifests: Iterable[Manifest]) -> None:
    """No two manifests share a kind and name."""
    seen: dict[tuple[str, str], Manifest] = {}
    for manifest in manifests:
        key = (manifest.kind, manifest.name)
        first = seen.get(key)
        if first is not None:
            raise ConfigError(
                f"duplicate {manifest.ref} (first defined at {_where(first)})",
                source=manifest.source,
                line=manifest.line,
            )
        seen[key] = manifest


def check_routes(apps: Iterable[Manifest], stored: Iterable[AppSpec] = ()) -> None:
    """No two apps claim the same host and path prefix.

    ``stored`` apps count unless a manifest of the same name replaces them.
    """
    manifests = list(apps)
    replaced = {manifest.name for manifest in manifests}
    owners: dict[Route, str] = {}
    for spec in stored:
        if spec.name not in replaced:
            for route in routes_of(spec):
                owners[route] = f"stored App/{spec.name}"
    for manifest in manifests:
        app = manifest.spec
        if not isinstance(app, AppSpec):
            continue
        for route in routes_of(app):
            owner = owners.get(route)
            if owner is not None:
                host, prefix = route
                raise ConfigError(
                    f"{manifest.ref} claims host {host} with path prefix {prefix}, "
                    f"already claimed by {owner}",
                    source=manifest.source,
                    line=manifest.line,
                )
            owners[route] = f"{manifest.ref} ({_where(manifest)})"


def check_policy_apps(manifests: Iterable[Manifest], known_apps: Iterable[str]) -> None:
    """Every Policy names an App of ``manifests`` or of ``known_apps``."""
    listed = list(manifests)
    apps = set(known_apps) | {manifest.name for manifest in listed if manifest.kind == "App"}
    for manifest in listed:
        if manifest.kind != "Policy":
            continue
        app = getattr(manifest.spec, "app", None)
        if app not in apps:
            raise ConfigError(
                f"{manifest.ref} is for app {app!r}, which is neither in these files "
                "nor already applied",
                source=manifest.source,
                line=manifest.line,
            )


def routes_of(spec: AppSpec) -> list[Route]:
    return [(host, spec.path_prefix) for host in spec.hosts]


def _where(manifest: Manifest) -> str:
    return manifest.source if manifest.line is None else f"{manifest.source}:{manifest.line}"


def check_policy_refs(
    manifests: Iterable[Manifest], known_groups: Iterable[str], known_ip_lists: Iterable[str]
) -> None:
    """Every group and IP list a Policy of ``manifests`` names exists (files or store).

    A misspelt group would otherwise make a rule that silently never matches.
    """
    groups = set(known_groups)
    lists = set(known_ip_lists)
    for manifest in manifests:
        spec = manifest.spec
        if not isinstance(spec, PolicySpec):
            continue
        local = {name for name, _ in spec.ip_lists}
        for rule in spec.rules:
            for group in rule.groups:
                if group not in groups:
                    raise ConfigError(
                        f"{manifest.ref} rule {rule.name!r} names group {group!r}, which is "
                        "neither in these files nor already applied",
                        source=manifest.source,
                        line=manifest.line,
                    )
        conditions = [rule.when for rule in spec.rules if rule.when is not None]
        conditions += [block for _, block in spec.conditions]
        for name in sorted({n for c in conditions for n in ip_list_names(c)}):
            if name not in lists and name not in local:
                raise ConfigError(
                    f"{manifest.ref} uses IP list {name!r}, which is neither in the Policy, "
                    "in these files, nor already applied",
                    source=manifest.source,
                    line=manifest.line,
                )


def ip_list_names(condition: Condition) -> list[str]:
    if isinstance(condition, SourceIn):
        return list(condition.lists)
    if isinstance(condition, AllOf | AnyOf):
        return [name for item in condition.items for name in ip_list_names(item)]
    if isinstance(condition, Not):
        return ip_list_names(condition.item)
    return []
