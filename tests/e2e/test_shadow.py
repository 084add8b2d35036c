"""Shadow mode on live traffic: the candidate is judged and audited, never enforced."""

from __future__ import annotations

import time

import pytest

from menshen.demo.firm import TENANT
from menshen.manifest.shadow import start_shadow, stop_shadow
from menshen.store.records import AuditRecord
from tests.e2e.harness import RunningStack, sign_in, wait_until

pytestmark = pytest.mark.e2e

# The demo's wiki policy, with bob denied: what an admin might try before applying it.
CANDIDATE = """\
apiVersion: menshen.dev/v1
kind: Policy
metadata: {name: wiki-access}
spec:
  app: wiki
  rules:
    - name: bob-is-off-the-wiki
      effect: deny
      users: [bob]
    - name: everyone-reads-and-edits
      groups: [finance-ops, contractors, admins]
"""


def _is_bobs_disagreement(record: AuditRecord) -> bool:
    return (
        record.kind == "policy.shadow_disagreement"
        and record.app == "wiki"
        and record.details.get("candidate_rule") == "wiki-access/bob-is-off-the-wiki"
    )


def test_shadowed_denial_is_audited_while_bob_still_reaches_the_wiki(
    running: RunningStack,
) -> None:
    """Bob keeps his access; each request the candidate would deny is logged as a disagreement."""
    platform = running.stack.platform
    server = running.stack.server
    assert platform is not None
    assert server is not None
    tenant = platform.store.tenant(TENANT)
    start_shadow(tenant, CANDIDATE, "candidate.yaml", clock=platform.clock, author="e2e")
    try:
        assert wait_until(lambda: server.guard.directory.shadow_policy(TENANT) is not None)
        with running.client() as client:
            done = sign_in(running, client, "bob", target="/wiki/")
            assert done.status_code == 302
            deadline = time.monotonic() + 5
            found: list[AuditRecord] = []
            while not found and time.monotonic() < deadline:
                wiki = client.get("/wiki/")
                assert wiki.status_code == 200, wiki.text
                found = [record for record in running.audit() if _is_bobs_disagreement(record)]
        assert found, "no shadow disagreement was audited"
        event = found[0]
        assert event.outcome == "allow"
        assert event.details["candidate_effect"] == "deny"
        assert event.details["active_rule"] == "wiki-access/everyone-reads-and-edits"
        bob = tenant.users.by_username("bob")
        assert bob is not None
        assert event.actor == bob.id
    finally:
        stop_shadow(tenant)
    assert wait_until(lambda: server.guard.directory.shadow_policy(TENANT) is None)
