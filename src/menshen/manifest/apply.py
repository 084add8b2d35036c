"""Apply manifests to a tenant, like ``kubectl apply``: validate everything, then write.

Every check (names, routes, policy targets, group members, that the resulting policy set
compiles) runs against the union of the files and what is already stored *before* the
first write, so a bad file changes nothing. Writes are idempotent: applying the same
objects twice reports everything unchanged. Objects absent from the files are left alone
(apply never deletes). Groups go to the identity tables; Apps and Policies are stored as
``ConfigObjectRecord`` with their normalised spec.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from menshen.clock import Clock
from menshen.errors import ConfigError
from menshen.manifest.checks import (
    check_policy_apps,
    check_policy_refs,
    check_routes,
    check_unique,
)
from menshen.manifest.load import (
    compile_tenant_policy,
    stored_apps,
    stored_ip_lists,
    stored_policies,
)
from menshen.manifest.model import KINDS, AppSpec, GroupSpec, IPListSpec, Manifest, PolicySpec
from menshen.store.api import TenantStore
from menshen.store.records import ConfigObjectRecord, GroupRecord

Write = Callable[[], None]


class Action(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class ApplyItem:
    kind: str
    name: str
    action: Action

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What ``apply`` did (or, with ``dry_run``, would do) to each object, in write order."""

    items: tuple[ApplyItem, ...]
    dry_run: bool = False

    def refs(self, action: Action) -> tuple[str, ...]:
        return tuple(item.ref for item in self.items if item.action is action)

    @property
    def created(self) -> tuple[str, ...]:
        return self.refs(Action.CREATED)

    @property
    def updated(self) -> tuple[str, ...]:
        return self.refs(Action.UPDATED)

    @property
    def unchanged(self) -> tuple[str, ...]:
        return self.refs(Action.UNCHANGED)

    @property
    def changed(self) -> bool:
        return any(item.action is not Action.UNCHANGED for item in self.items)


def apply_manifests(
    tenant_store: TenantStore,
    manifests: Iterable[Manifest],
    *,
    dry_run: bool = False,
    clock: Clock,
    new_id: Callable[[], str] | None = None,
) -> ApplyReport:
    """Validate ``manifests`` against each other and the store, then write them.

    Raises ``ConfigError`` (naming file and line) before any write if anything is wrong,
    and writes everything in one transaction.
    ``new_id`` makes ids for new groups (default: random uuid4 hex).
    """
    ordered = sorted(manifests, key=lambda manifest: KINDS.index(manifest.kind))
    make_id = new_id or (lambda: uuid.uuid4().hex)
    _validate(tenant_store, ordered)
    plan: list[tuple[ApplyItem, list[Write]]] = []
    for manifest in ordered:
        if isinstance(manifest.spec, GroupSpec):
            plan.append(_plan_group(tenant_store, manifest, manifest.spec, make_id))
        else:
            plan.append(_plan_object(tenant_store, manifest, clock))
    if not dry_run:
        # One transaction: a store failure part-way leaves nothing half-applied.
        with tenant_store.transaction():
            for _, writes in plan:
                for write in writes:
                    write()
    return ApplyReport(items=tuple(item for item, _ in plan), dry_run=dry_run)


def _validate(tenant_store: TenantStore, manifests: list[Manifest]) -> None:
    check_unique(manifests)
    stored = stored_apps(tenant_store)
    check_routes((manifest for manifest in manifests if manifest.kind == "App"), stored)
    check_policy_apps(manifests, [app.name for app in stored])
    ip_lists = _merged(stored_ip_lists(tenant_store), manifests, IPListSpec)
    groups = {group.name for group in tenant_store.groups.list()}
    groups |= {manifest.name for manifest in manifests if manifest.kind == "Group"}
    check_policy_refs(manifests, groups, [spec.name for spec in ip_lists])
    policies = _merged(stored_policies(tenant_store), manifests, PolicySpec)
    apps = _merged(stored, manifests, AppSpec)
    compile_tenant_policy(tenant_store.tenant_id, policies, apps, ip_lists)
    for manifest in manifests:
        if isinstance(manifest.spec, GroupSpec):
            _member_ids(tenant_store, manifest, manifest.spec)


S = TypeVar("S", AppSpec, IPListSpec, PolicySpec)


def _merged(stored: list[S], manifests: list[Manifest], kind: type[S]) -> list[S]:
    """Stored specs of ``kind``, replaced by or joined with those of the files."""
    files = [manifest.spec for manifest in manifests if isinstance(manifest.spec, kind)]
    names = {spec.name for spec in files}
    return [spec for spec in stored if spec.name not in names] + files


def _member_ids(tenant_store: TenantStore, manifest: Manifest, spec: GroupSpec) -> list[str]:
    ids: list[str] = []
    for username in spec.members or ():
        user = tenant_store.users.by_username(username)
        if user is None:
            raise ConfigError(
                f"{manifest.ref} lists member {username!r}, who is not a user of this tenant",
                source=manifest.source,
                line=manifest.line,
            )
        ids.append(user.id)
    return ids


def _plan_object(
    tenant_store: TenantStore, manifest: Manifest, clock: Clock
) -> tuple[ApplyItem, list[Write]]:
    spec = manifest.spec.to_json()
    current = tenant_store.config.get(manifest.kind, manifest.name)
    if current is not None and current.spec == spec:
        return ApplyItem(manifest.kind, manifest.name, Action.UNCHANGED), []
    action = Action.CREATED if current is None else Action.UPDATED
    record = ConfigObjectRecord(
        tenant_id=tenant_store.tenant_id,
        kind=manifest.kind,
        name=manifest.name,
        spec=spec,
        updated_at=clock.now(),
    )
    return ApplyItem(manifest.kind, manifest.name, action), [
        lambda: tenant_store.config.put(record)
    ]


def _plan_group(
    tenant_store: TenantStore,
    manifest: Manifest,
    spec: GroupSpec,
    make_id: Callable[[], str],
) -> tuple[ApplyItem, list[Write]]:
    groups = tenant_store.groups
    member_ids = _member_ids(tenant_store, manifest, spec)
    current = groups.by_name(spec.name)
    writes: list[Write] = []
    if current is None:
        record = GroupRecord(
            tenant_id=tenant_store.tenant_id,
            id=make_id(),
            name=spec.name,
            description=spec.description,
            mfa_required=spec.mfa_required,
        )
        writes.append(lambda: groups.add(record))
        writes.extend(_add_member(groups.add_member, record.id, user) for user in member_ids)
        return ApplyItem("Group", spec.name, Action.CREATED), writes
    wanted = GroupRecord(
        tenant_id=current.tenant_id,
        id=current.id,
        name=current.name,
        description=spec.description,
        mfa_required=spec.mfa_required,
    )
    if wanted != current:
        writes.append(lambda: groups.update(wanted))
    present = {user.id for user in groups.members(current.id)}
    missing = [user for user in member_ids if user not in present]
    writes.extend(_add_member(groups.add_member, current.id, user) for user in missing)
    action = Action.UPDATED if writes else Action.UNCHANGED
    return ApplyItem("Group", spec.name, action), writes


def _add_member(add: Callable[[str, str], None], group_id: str, user_id: str) -> Write:
    return lambda: add(group_id, user_id)
