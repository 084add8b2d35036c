"""Checks before any load: a benchmark of redirects or 401s would measure nothing.

Every target must answer ``GET /`` with 200 and the upstream's exact body; menshen must
also forward a signed identity assertion, refuse a request without a session, and deny
a path the policy forbids (so the policy is really on the path).
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.net import get
from bench.nginx import ASSERTION_ECHO_PATH


class CheckFailed(RuntimeError):
    """The system under test does not behave as the benchmark assumes."""


def before_load(ports: Mapping[str, int], headers: Mapping[str, str], body: bytes) -> list[str]:
    """Problems found, or an empty list."""
    problems = []
    for name, port in ports.items():
        reply = get(port, "/", headers)
        if reply.status != 200 or reply.body != body:
            problems.append(f"{name}: GET / answered {reply.status} with {len(reply.body)} bytes")
    menshen = ports["menshen"]
    echoed = get(menshen, ASSERTION_ECHO_PATH, headers)
    if echoed.status != 200 or echoed.body.count(b".") != 2:
        problems.append(f"menshen: no identity assertion reached the upstream ({echoed.status})")
    anonymous = get(menshen, "/", {"User-Agent": headers.get("User-Agent", "")})
    if anonymous.status not in (302, 303, 401) or anonymous.body == body:
        problems.append(f"menshen: a request without a session answered {anonymous.status}")
    forbidden = get(menshen, "/admin", headers)
    if forbidden.status != 403:
        problems.append(f"menshen: the policy's denied path answered {forbidden.status}")
    return problems
