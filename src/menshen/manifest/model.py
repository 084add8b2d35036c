"""The declarative objects a firm keeps in git: App, Group, IPList and Policy (``menshen.dev/v1``).

Each value is already validated and normalised (sorted, de-duplicated, canonical
spellings), so two files that mean the same thing produce equal values and equal stored
JSON: that is what makes ``apply`` idempotent and ``export`` round-trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from menshen.manifest.when import to_json as condition_json
from menshen.policy.conditions import Condition

API_VERSION = "menshen.dev/v1"
Kind = Literal["App", "Group", "IPList", "Policy"]
KINDS: tuple[Kind, ...] = ("Group", "IPList", "App", "Policy")
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
    sensitivity: str | None = None
    data_tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The normalised ``spec`` as stored and exported."""
        body: dict[str, Any] = {
            "hosts": list(self.hosts),
            "pathPrefix": self.path_prefix,
            "upstream": self.upstream,
            "title": self.title,
            "public": self.public,
            "preserveHost": self.preserve_host,
            "maxBodyBytes": self.max_body_bytes,
        }
        if self.sensitivity is not None or self.data_tags:
            body["data"] = {"sensitivity": self.sensitivity, "tags": list(self.data_tags)}
        return body


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
class IPListSpec:
    """A named list of networks that Policies use in ``source`` conditions."""

    name: str
    description: str
    networks: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"description": self.description, "networks": list(self.networks)}


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule of a Policy, as written (names unqualified, max age canonical).

    Fields added after the first version are stored only when set, so that objects
    applied before them still compare equal.
    """

    name: str
    effect: Literal["allow", "deny", "step_up"]
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    source_networks: tuple[str, ...] = ()
    mfa_required: bool = False
    mfa_max_age: str | None = None
    mfa_methods: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    when: Condition | None = None
    rule_id: str | None = None
    description: str = ""
    owner: str = ""

    def to_json(self) -> dict[str, Any]:
        mfa: dict[str, Any] = {"required": self.mfa_required, "maxAge": self.mfa_max_age}
        if self.mfa_methods:
            mfa["methods"] = list(self.mfa_methods)
        body: dict[str, Any] = {"name": self.name}
        optional: dict[str, Any] = {
            "id": self.rule_id,
            "description": self.description,
            "owner": self.owner,
        }
        body.update((key, value) for key, value in optional.items() if value)
        body.update(
            {
                "effect": self.effect,
                "users": list(self.users),
                "groups": list(self.groups),
                "methods": list(self.methods),
                "paths": list(self.paths),
                "sourceNetworks": list(self.source_networks),
                "mfa": mfa,
            }
        )
        if self.clients:
            body["clients"] = list(self.clients)
        if self.scopes:
            body["scopes"] = list(self.scopes)
        if self.when is not None:
            body["when"] = condition_json(self.when)
        return body


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """A data label for some paths of the Policy's app."""

    paths: tuple[str, ...]
    sensitivity: str
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"paths": list(self.paths), "sensitivity": self.sensitivity, "tags": list(self.tags)}


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """The ordered rules for one app, with its named conditions, IP lists and data labels."""

    name: str
    app: str
    rules: tuple[RuleSpec, ...]
    conditions: tuple[tuple[str, Condition], ...] = ()
    ip_lists: tuple[tuple[str, tuple[str, ...]], ...] = ()
    resources: tuple[ResourceSpec, ...] = ()
    time_zone: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"app": self.app}
        if self.time_zone is not None:
            body["timeZone"] = self.time_zone
        if self.conditions:
            body["conditions"] = {name: condition_json(c) for name, c in self.conditions}
        if self.ip_lists:
            body["ipLists"] = {name: list(networks) for name, networks in self.ip_lists}
        if self.resources:
            body["resources"] = [resource.to_json() for resource in self.resources]
        body["rules"] = [rule.to_json() for rule in self.rules]
        return body


Spec = AppSpec | GroupSpec | IPListSpec | PolicySpec


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
