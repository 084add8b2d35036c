"""What the guard knows without asking the store: routes, people, compiled policies.

A ``Directory`` is an immutable snapshot, rebuilt off the event loop and swapped in whole,
so the request path reads it without locks and never sees half an update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from menshen.errors import ConfigError
from menshen.gateway.contract import Upstream
from menshen.policy.compile import CompiledPolicy
from menshen.policy.model import Subject


@dataclass(frozen=True, slots=True)
class Route:
    tenant_id: str
    app: str
    title: str
    host: str
    path_prefix: str
    upstream: Upstream
    max_body_bytes: int | None = None

    def matches(self, path: str) -> bool:
        prefix = self.path_prefix
        if prefix == "/" or path == prefix:
            return True
        return path.startswith(prefix) and (prefix.endswith("/") or path[len(prefix)] == "/")


@dataclass(frozen=True, slots=True)
class Principal:
    subject: Subject
    display_name: str
    disabled: bool
    mfa_required: bool
    mfa_enrolled: bool
    groups_header: str


def upstream_from_url(url: str) -> Upstream:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"upstream {url!r} must be an http:// or https:// URL with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Upstream(parts.hostname, port, tls=parts.scheme == "https", server_name=parts.hostname)


class Directory:
    def __init__(
        self,
        routes: Sequence[Route],
        principals: Mapping[tuple[str, str], Principal],
        policies: Mapping[str, CompiledPolicy],
        firm_names: Mapping[str, str],
        shadows: Mapping[str, CompiledPolicy] | None = None,
    ) -> None:
        by_host: dict[str, list[Route]] = {}
        for route in routes:
            by_host.setdefault(route.host, []).append(route)
        self._routes = {
            host: tuple(sorted(items, key=lambda r: len(r.path_prefix), reverse=True))
            for host, items in by_host.items()
        }
        self._principals = dict(principals)
        self._policies = dict(policies)
        self.firm_names = dict(firm_names)
        self._shadows = dict(shadows or {})

    @classmethod
    def empty(cls) -> Directory:
        return cls((), {}, {}, {})

    def route(self, host: str, path: str) -> Route | None:
        for route in self._routes.get(host, ()):
            if route.matches(path):
                return route
        return None

    def tenant_for_host(self, host: str) -> str | None:
        routes = self._routes.get(host)
        return routes[0].tenant_id if routes else None

    def principal(self, tenant_id: str, user_id: str) -> Principal | None:
        return self._principals.get((tenant_id, user_id))

    def policy(self, tenant_id: str) -> CompiledPolicy | None:
        return self._policies.get(tenant_id)

    def shadow_policy(self, tenant_id: str) -> CompiledPolicy | None:
        """A candidate policy judged beside the active one, never enforced (shadow mode)."""
        return self._shadows.get(tenant_id)

    def routes(self) -> list[Route]:
        return [route for routes in self._routes.values() for route in routes]
