"""User-agent family: the coarse client fingerprint a session is bound to.

A stolen cookie replayed from another browser family or operating system is refused.
The family changes rarely (browser upgrades keep it), so it is stable for a real user.
Parsing is slow, so results are cached per distinct header value.
"""

from __future__ import annotations

from functools import lru_cache

from user_agents import parse


@lru_cache(maxsize=4096)
def user_agent_family(header: str | None) -> str:
    if not header:
        return "unknown"
    agent = parse(header[:512])
    return f"{agent.browser.family}/{agent.os.family}"
