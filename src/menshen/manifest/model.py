"""The declarative objects a firm keeps in git: App, Group and Policy (``menshen.dev/v1``).

Each value is already validated and normalised (sorted, de-duplicated, canonical
spellings), so two files that mean the same thing produce equal values and equal stored
JSON: that is what makes ``apply`` idempotent and ``export`` round-trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

API_VERSION = "menshen.dev/v1"
Kind = Literal["App", "Group", "Policy"]
KINDS: tuple[Kind, ...] = ("Group", "App", "Policy")
"""Every kind, in the order ``apply`` writes them and ``export`` lists them."""


@dataclass(frozen=True, slots=True)
class AppSpec:
    """An internal app behind the gateway: where it is reached and where it lives.

    ``upstream`` is the normalised URL (``scheme://host:port``); its parts are split out
    for the gateway. ``public`` is reserved and always False.
    """

    name: str
    hosts: tuple[str, ...]
    path_prefix: str
    upstream: str
    upstream_scheme: Literal["http", "https"]
    upstream_host: str
    upstream_port: int
    title: str
    public: bool = False
    preserve_host: bool = False
    max_body_bytes: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The normalised ``spec`` as stored and exported."""
        return {
            "hosts": list(self.hosts),
            "pathPrefix": self.path_prefix,
            "upstream": self.upstream,
            "title": self.title,
            "public": self.public,
            "preserveHost": self.preserve_host,
            "maxBodyBytes": self.max_body_bytes,
        }


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A group of people; ``members`` is None when the file does not manage membership."""

    name: str
    description: str
    mfa_required: bool
    members: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"description": self.description, "mfaRequired": self.mfa_required}
        if self.members is not None:
            body["members"] = list(self.members)
        return body


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule of a Policy, as written (names unqualified, max age canonical)."""

    name: str
    effect: Literal["allow", "deny"]
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    source_networks: tuple[str, ...] = ()
    mfa_required: bool = False
    mfa_max_age: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "effect": self.effect,
            "users": list(self.users),
            "groups": list(self.groups),
            "methods": list(self.methods),
            "paths": list(self.paths),
            "sourceNetworks": list(self.source_networks),
            "mfa": {"required": self.mfa_required, "maxAge": self.mfa_max_age},
        }


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """The ordered rules for one app."""

    name: str
    app: str
    rules: tuple[RuleSpec, ...]

    def to_json(self) -> dict[str, Any]:
        return {"app": self.app, "rules": [rule.to_json() for rule in self.rules]}


Spec = AppSpec | GroupSpec | PolicySpec


@dataclass(frozen=True, slots=True)
class Manifest:
    """One document of a file: its kind, name, typed spec, and where it was written."""

    kind: Kind
    name: str
    spec: Spec
    source: str
    line: int | None

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"
