"""How many requests the guard allowed, denied, stepped up or sent to sign in (the
operations metrics, ``menshen_requests_total``; NIST SP 800-207 §3.4, the PEP's own
figures for the monitoring components).

Plain integer attributes bumped on the request path: one attribute increment per request,
no lock, no allocation. The guard runs on one event loop thread, so nothing races; a
scrape reads them with ``snapshot``.
"""

from __future__ import annotations

from menshen.gateway.contract import Forward, Respond, Verdict

__all__ = ["DECISIONS", "DecisionCounts"]

# Label values, in the order the exposition lists them.
DECISIONS = ("allow", "deny", "step_up", "unauthenticated", "unavailable")


class DecisionCounts:
    """Requests decided since start, by outcome. ``unavailable`` counts refusals made
    because the gateway could not log or sign (audit backlog over its limit, no key)."""

    __slots__ = ("allow", "deny", "step_up", "unauthenticated", "unavailable")

    def __init__(self) -> None:
        self.allow = 0
        self.deny = 0
        self.step_up = 0
        self.unauthenticated = 0
        self.unavailable = 0

    def count_verdict(self, verdict: Verdict) -> None:
        """Count an answer decided elsewhere (a machine client's): forwarded is allowed,
        401 unauthenticated, 503 unavailable, anything else denied."""
        if isinstance(verdict, Forward):
            self.allow += 1
            return
        status = verdict.status if isinstance(verdict, Respond) else 403
        if status == 401:
            self.unauthenticated += 1
        elif status == 503:
            self.unavailable += 1
        else:
            self.deny += 1

    def snapshot(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in DECISIONS}
