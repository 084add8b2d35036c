"""Build a ``Directory`` snapshot from the store (blocking: run it in a thread)."""

from __future__ import annotations

from collections.abc import Sequence

from menshen.access.directory import Directory, Principal, Route, upstream_from_url
from menshen.manifest.load import load_tenant_config
from menshen.manifest.shadow import shadow_policy
from menshen.policy.compile import CompiledPolicy
from menshen.policy.model import Subject
from menshen.store.api import Store


def _clean(value: str) -> str:
    """Header-safe: identity values never carry control characters upstream."""
    return "".join(ch for ch in value if ch >= " " and ch != "\x7f")


def load_directory(store: Store, tenant_ids: Sequence[str]) -> Directory:
    routes: list[Route] = []
    principals: dict[tuple[str, str], Principal] = {}
    policies: dict[str, CompiledPolicy] = {}
    shadows: dict[str, CompiledPolicy] = {}
    names = {tenant.id: tenant.name for tenant in store.tenants()}
    for tenant_id in tenant_ids:
        tenant = store.tenant(tenant_id)
        config = load_tenant_config(tenant)
        policies[tenant_id] = config.policy
        candidate = shadow_policy(tenant)
        if candidate is not None:
            shadows[tenant_id] = candidate
        for app in config.apps:
            upstream = upstream_from_url(app.upstream)
            routes.extend(
                Route(
                    tenant_id=tenant_id,
                    app=app.name,
                    title=app.title or app.name,
                    host=host,
                    path_prefix=app.path_prefix,
                    upstream=upstream,
                    max_body_bytes=app.max_body_bytes,
                )
                for host in app.hosts
            )
        groups = tenant.groups.list()
        members: dict[str, set[str]] = {}
        mfa_groups = {g.name for g in groups if g.mfa_required}
        for group in groups:
            for user in tenant.groups.members(group.id):
                members.setdefault(user.id, set()).add(group.name)
        for user in tenant.users.list():
            user_groups = frozenset(members.get(user.id, ()))
            totp = tenant.credentials.get_totp(user.id)
            principals[(tenant_id, user.id)] = Principal(
                subject=Subject(
                    user_id=user.id,
                    username=user.username,
                    email=_clean(user.email),
                    groups=user_groups,
                ),
                display_name=_clean(user.display_name),
                disabled=user.disabled,
                mfa_required=bool(user_groups & mfa_groups),
                mfa_enrolled=totp is not None and totp.confirmed,
                groups_header=",".join(sorted(_clean(g) for g in user_groups)),
            )
    return Directory(routes, principals, policies, names, shadows)
