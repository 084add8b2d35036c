"""Shadow (dry-run) mode: judge live traffic with a candidate config beside the active one.

The candidate is a document set like ``apply`` takes. It means "the config as it would be
after ``menshen apply -f candidate.yaml``": its Policies, IPLists and Apps replace the stored
ones of the same name, the rest stay as stored. It is validated exactly as ``apply`` would
validate it, then stored whole; each gateway compiles it on its next refresh and the guard
decides every request with both policies, enforcing only the active one and auditing every
disagreement (``policy.shadow_disagreement``). Groups in the candidate are validated, but
people keep their live memberships: shadow mode tests policy, not identity changes.
NIST SP 800-207 §3.3 (the policy engine's trust algorithm, tried before it is trusted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from menshen.clock import Clock
from menshen.errors import ConfigError
from menshen.manifest.apply import apply_manifests
from menshen.manifest.load import (
    compile_tenant_policy,
    stored_apps,
    stored_ip_lists,
    stored_policies,
)
from menshen.manifest.model import AppSpec, IPListSpec, Manifest, PolicySpec
from menshen.manifest.parse import parse_manifests
from menshen.policy.compile import CompiledPolicy
from menshen.store.api import TenantStore
from menshen.store.policy_versions import PolicyCandidateRecord, digest


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored candidate with its compiled policy."""

    record: PolicyCandidateRecord
    policy: CompiledPolicy


def start_shadow(
    tenant_store: TenantStore, text: str, source: str, *, clock: Clock, author: str
) -> Candidate:
    """Validate ``text`` (the contents of file ``source``) and store it as the candidate.

    Raises ``ConfigError`` naming file and line, and stores nothing, if the candidate would
    not apply. A candidate already being shadowed is replaced.
    """
    manifests = parse_manifests(text, source, known_apps=None)
    with tenant_store.transaction():
        apply_manifests(tenant_store, manifests, dry_run=True, clock=clock)
        policy = candidate_policy(tenant_store, manifests)
        record = PolicyCandidateRecord(
            tenant_id=tenant_store.tenant_id,
            created_at=clock.now(),
            author=author,
            source=source,
            document=text,
            sha256=digest(text),
        )
        tenant_store.policy_candidate.put(record)
    return Candidate(record, policy)


def stop_shadow(tenant_store: TenantStore) -> PolicyCandidateRecord | None:
    """Remove the candidate; the one removed, or None if nothing was being shadowed."""
    with tenant_store.transaction():
        current = tenant_store.policy_candidate.get()
        if current is not None:
            tenant_store.policy_candidate.delete()
    return current


def load_candidate(tenant_store: TenantStore) -> Candidate | None:
    """The stored candidate compiled against today's stored config, or None.

    Raises ``ConfigError`` if it no longer compiles (an App it names was removed, say).
    """
    record = tenant_store.policy_candidate.get()
    if record is None:
        return None
    manifests = parse_manifests(record.document, record.source, known_apps=None)
    return Candidate(record, candidate_policy(tenant_store, manifests))


def shadow_policy(tenant_store: TenantStore) -> CompiledPolicy | None:
    """What the gateway judges beside the active policy; None if none or no longer valid.

    A broken candidate is dropped rather than raised: it is never enforced, and it must not
    hold back the reload of the active configuration.
    """
    try:
        candidate = load_candidate(tenant_store)
    except ConfigError:
        return None
    return None if candidate is None else candidate.policy


def candidate_policy(tenant_store: TenantStore, manifests: Sequence[Manifest]) -> CompiledPolicy:
    """The tenant's policy as it would compile after applying ``manifests``."""
    return compile_tenant_policy(
        tenant_store.tenant_id,
        _merged(stored_policies(tenant_store), manifests, PolicySpec),
        _merged(stored_apps(tenant_store), manifests, AppSpec),
        _merged(stored_ip_lists(tenant_store), manifests, IPListSpec),
    )


S = TypeVar("S", AppSpec, IPListSpec, PolicySpec)


def _merged(stored: list[S], manifests: Sequence[Manifest], kind: type[S]) -> list[S]:
    files = [manifest.spec for manifest in manifests if isinstance(manifest.spec, kind)]
    names = {spec.name for spec in files}
    return [spec for spec in stored if spec.name not in names] + files
