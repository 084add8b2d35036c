"""Policy versions: apply-and-record, and rollback to any recorded version.

Every apply that changes something (and the first apply of a tenant) records the whole
exported config after the change, in the same transaction as the change: a bad file changes
nothing and records nothing (NIST SP 800-53 CM-3 change control, CM-2(3) retention of
previous configurations; NIST SP 800-207 §3.3, the policy administrator's record).

Rollback makes the stored config equal to a version: it applies the version's objects and
deletes the Apps, Policies and IPLists the version does not have, validates the result as
``apply`` would, and records a new version, all in one transaction. Groups are identity data
shared with ``menshen user`` and federation, so rollback restores a listed group's settings
and re-adds the members the version lists, but never deletes a group or removes anyone's
membership; the report names what it kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from menshen.clock import Clock
from menshen.errors import NotFound
from menshen.manifest.apply import ApplyReport, apply_manifests
from menshen.manifest.export import export_manifests
from menshen.manifest.model import GroupSpec, Manifest
from menshen.manifest.parse import parse_manifests
from menshen.store.api import TenantStore
from menshen.store.policy_versions import PolicyVersionRecord

DELETABLE = ("Policy", "App", "IPList")
"""Kinds rollback removes when the version lacks them (policies first: they name the rest)."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What an apply did, and the version it recorded (None if nothing changed)."""

    report: ApplyReport
    version: PolicyVersionRecord | None


@dataclass(frozen=True, slots=True)
class RollbackReport:
    """What a rollback did: objects written and removed, what it kept, the new version."""

    target: int
    applied: ApplyReport
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    version: PolicyVersionRecord

    @property
    def changed(self) -> bool:
        return bool(self.removed) or self.applied.changed


def record_version(
    tenant_store: TenantStore, *, clock: Clock, author: str, source: str, message: str
) -> PolicyVersionRecord:
    """Record the tenant's current config as its next version (joins an open transaction)."""
    return tenant_store.policy_versions.add(
        created_at=clock.now(),
        author=author,
        source=source,
        message=message,
        document=export_manifests(tenant_store),
    )


def apply_and_record(
    tenant_store: TenantStore,
    manifests: Iterable[Manifest],
    *,
    clock: Clock,
    author: str,
    source: str,
    message: str = "",
    new_id: Callable[[], str] | None = None,
) -> Recorded:
    """``apply_manifests`` and, if it changed something, record a version: one transaction.

    The first apply of a tenant always records a version, so history has a starting point.
    """
    with tenant_store.transaction():
        report = apply_manifests(tenant_store, manifests, clock=clock, new_id=new_id)
        version = None
        if report.changed or tenant_store.policy_versions.latest() is None:
            version = record_version(
                tenant_store, clock=clock, author=author, source=source, message=message
            )
    return Recorded(report, version)


def version_manifests(record: PolicyVersionRecord) -> list[Manifest]:
    """The objects of a recorded version, parsed as a file named ``<version N>``."""
    return parse_manifests(record.document, f"<version {record.version}>", known_apps=None)


def rollback(
    tenant_store: TenantStore,
    target: int,
    *,
    clock: Clock,
    author: str,
    message: str = "",
    new_id: Callable[[], str] | None = None,
) -> RollbackReport:
    """Make the stored config equal to version ``target``; NotFound if there is none.

    Raises ``ConfigError`` (and changes nothing) if the version no longer applies, for
    instance because a group member it lists is no longer a user.
    """
    record = tenant_store.policy_versions.get(target)
    if record is None:
        newest = tenant_store.policy_versions.latest()
        known = "none recorded yet" if newest is None else f"versions are 1 to {newest.version}"
        raise NotFound(f"no policy version {target} ({known})")
    manifests = version_manifests(record)
    wanted = {(manifest.kind, manifest.name) for manifest in manifests}
    note = f"rollback to {target}" + (f": {message}" if message else "")
    with tenant_store.transaction():
        removed: list[str] = []
        for kind in DELETABLE:
            for stored in tenant_store.config.list(kind):
                if (kind, stored.name) not in wanted:
                    tenant_store.config.delete(kind, stored.name)
                    removed.append(f"{kind}/{stored.name}")
        # Validated against the store as it is after the removals (reads join the unit).
        applied = apply_manifests(tenant_store, manifests, clock=clock, new_id=new_id)
        kept = _kept_identity(tenant_store, manifests)
        version = record_version(
            tenant_store, clock=clock, author=author, source=f"<version {target}>", message=note
        )
    return RollbackReport(target, applied, tuple(removed), kept, version)


def _kept_identity(tenant_store: TenantStore, manifests: list[Manifest]) -> tuple[str, ...]:
    """Groups and memberships the version lacks, which rollback leaves in place."""
    listed = {m.name: m.spec for m in manifests if isinstance(m.spec, GroupSpec)}
    kept: list[str] = []
    for group in sorted(tenant_store.groups.list(), key=lambda record: record.name):
        spec = listed.get(group.name)
        if spec is None:
            kept.append(f"Group/{group.name}")
            continue
        extra = sorted(
            user.username
            for user in tenant_store.groups.members(group.id)
            if user.username not in set(spec.members or ())
        )
        kept.extend(f"Group/{group.name} member {username}" for username in extra)
    return tuple(kept)
