"""The guard's decision counters (``menshen_requests_total``): one per outcome it answers."""

from __future__ import annotations

from menshen.access.decision_counts import DecisionCounts
from menshen.gateway.contract import Forward, Respond, Upstream
from menshen.store.sql import SqlStore
from tests.access.test_guard import World


def test_each_outcome_moves_its_own_counter(sqlite_store: SqlStore) -> None:
    """Allow, deny, step-up, sign-in-first and refused-for-backlog each count once."""
    backlog = [0]
    world = World(sqlite_store, audit_backlog=lambda: backlog[0])
    counts = world.guard.counts
    token = world.login("u-ann")
    assert isinstance(world.check("/ledger/books", token), Forward)
    assert counts.snapshot() == {
        "allow": 1, "deny": 0, "step_up": 0, "unauthenticated": 0, "unavailable": 0,
    }  # fmt: skip
    world.check("/ledger/export/all", token)
    world.check("/ledger/books")
    world.check("/ledger/books", world.login("u-ann", "password"))  # owes the second factor
    backlog[0] = 10**6
    world.check("/ledger/books", token)
    assert counts.snapshot() == {
        "allow": 1, "deny": 1, "step_up": 1, "unauthenticated": 1, "unavailable": 1,
    }  # fmt: skip


def test_unrouted_and_own_paths_are_not_decisions(sqlite_store: SqlStore) -> None:
    """404s for unknown hosts and the gateway's own pages leave every counter alone."""
    world = World(sqlite_store)
    world.check("/x")
    world.check("/ledger/", host="other.example")
    world.check("/.menshen/login")
    assert set(world.guard.counts.snapshot().values()) == {0}


def test_a_machine_clients_answer_is_counted_by_its_kind() -> None:
    """Forwarded counts as allowed, 401 as unauthenticated, 503 unavailable, 403 denied."""
    counts = DecisionCounts()
    counts.count_verdict(Forward(upstream=Upstream("127.0.0.1", 1)))
    for status in (401, 401, 403, 503):
        counts.count_verdict(Respond(status))
    assert counts.snapshot() == {
        "allow": 1, "deny": 1, "step_up": 0, "unauthenticated": 2, "unavailable": 1,
    }  # fmt: skip
