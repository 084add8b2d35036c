"""Pydantic v2 schemas of each kind's ``spec``: strict types, unknown fields refused.

Untrusted input (files from git, JSON edited in the console) is parsed here and nowhere
else; the output is the normalised typed values of ``menshen.manifest.model``. Host names
follow RFC 1123 §2.1, CIDR blocks RFC 4632 §3.1 (host bits must be zero), methods are
RFC 9110 §9.1 tokens (upper-cased here).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from menshen.manifest.model import (
    AppSpec,
    GroupSpec,
    IPListSpec,
    PolicySpec,
    ResourceSpec,
    RuleSpec,
)
from menshen.manifest.when import SpecProblem, parse_condition
from menshen.policy.conditions import DEFAULT_ZONE, AllOf, AnyOf, Condition, Not, Use
from menshen.policy.duration import format_duration, parse_duration

NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$"
_NAME = re.compile(NAME_PATTERN)
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_METHOD = re.compile(r"^[A-Za-z]{1,20}$")
_PERCENT = re.compile(r"%(?![0-9A-F]{2})")
_PATH_FORBIDDEN = set("?#\\ \t\r\n") | {chr(code) for code in range(32)} | {"\x7f"}


def check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"invalid name {value!r}: use lower-case letters, digits, '.', '-' or '_' "
            "(at most 63, starting and ending with a letter or digit)"
        )
    return value


def check_principal(value: str) -> str:
    if not _PRINCIPAL.match(value):
        raise ValueError(f"invalid user or group name {value!r}")
    return value


def check_host(value: str) -> str:
    if value != value.lower():
        raise ValueError(f"host {value!r} must be lower-case")
    if ":" in value:
        raise ValueError(f"host {value!r} must not carry a port")
    labels = value.split(".")
    if len(value) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"invalid host name {value!r}")
    return value


def check_path_prefix(value: str) -> str:
    """A canonical path prefix, returned without trailing ``/`` (``/`` itself stays)."""
    if not value.startswith("/"):
        raise ValueError(f"path {value!r} must start with '/'")
    if any(char in _PATH_FORBIDDEN for char in value) or _PERCENT.search(value):
        raise ValueError(f"path {value!r} is not a canonical path (no ?, #, \\, spaces, bad %)")
    trimmed = value.rstrip("/") or "/"
    segments = trimmed.split("/")[1:]
    if trimmed != "/" and ("" in segments or "." in segments or ".." in segments):
        raise ValueError(f"path {value!r} has an empty, '.' or '..' segment")
    return trimmed


def check_method(value: str) -> str:
    if not _METHOD.match(value):
        raise ValueError(f"invalid HTTP method {value!r}")
    return value.upper()


def check_network(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"invalid CIDR {value!r}: {exc}") from None
    return str(network)


def check_duration(value: str) -> str:
    return format_duration(parse_duration(value))


def split_upstream(value: str) -> tuple[Literal["http", "https"], str, int]:
    """``http(s)://host[:port]`` → (scheme, host, port); nothing else in the URL."""
    parts = urlsplit(value)
    scheme = parts.scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"upstream {value!r} must be an http:// or https:// URL")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"upstream {value!r} has an invalid port") from None
    host = parts.hostname
    if not host:
        raise ValueError(f"upstream {value!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"upstream {value!r} must not carry credentials")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"upstream {value!r} must not have a path, query or fragment")
    if port == 0:
        raise ValueError(f"upstream {value!r} has an invalid port")
    default_port = 443 if scheme == "https" else 80
    return ("https" if scheme == "https" else "http", host, port or default_port)


def check_not_public(value: bool) -> bool:
    if value:
        raise ValueError("public apps are reserved for a later version; keep public: false")
    return value


def check_upstream(value: str) -> str:
    scheme, host, port = split_upstream(value)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def _unique(values: list[str]) -> list[str]:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise ValueError(f"listed more than once: {', '.join(duplicates)}")
    return values


Name = Annotated[str, AfterValidator(check_name)]
Principal = Annotated[str, AfterValidator(check_principal)]
Host = Annotated[str, AfterValidator(check_host)]
PathPrefix = Annotated[str, AfterValidator(check_path_prefix)]
Method = Annotated[str, AfterValidator(check_method)]
Cidr = Annotated[str, AfterValidator(check_network)]
Duration = Annotated[str, AfterValidator(check_duration)]
Upstream = Annotated[str, AfterValidator(check_upstream)]
Tag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._:-]{0,62}$")]
Scope = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}$")]
RuleId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]
Sensitivity = Literal["public", "internal", "confidential", "restricted"]
MfaMethod = Literal["totp", "webauthn", "recovery_code"]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DataSchema(_Schema):
    sensitivity: Sensitivity | None = None
    tags: list[Tag] = []


class AppSchema(_Schema):
    hosts: Annotated[list[Host], Field(min_length=1), AfterValidator(_unique)]
    pathPrefix: PathPrefix = "/"
    upstream: Upstream
    title: str = ""
    public: Annotated[bool, AfterValidator(check_not_public)] = False
    preserveHost: bool = False
    maxBodyBytes: Annotated[int, Field(ge=1)] | None = None
    data: DataSchema | None = None

    def to_spec(self, name: str) -> AppSpec:
        scheme, host, port = split_upstream(self.upstream)
        return AppSpec(
            name=name,
            hosts=tuple(self.hosts),
            path_prefix=self.pathPrefix,
            upstream=self.upstream,
            upstream_scheme=scheme,
            upstream_host=host,
            upstream_port=port,
            title=self.title or name,
            public=self.public,
            preserve_host=self.preserveHost,
            max_body_bytes=self.maxBodyBytes,
            sensitivity=None if self.data is None else self.data.sensitivity,
            data_tags=() if self.data is None else tuple(sorted(set(self.data.tags))),
        )


class GroupSchema(_Schema):
    description: str = ""
    mfaRequired: bool = False
    members: Annotated[list[Principal], AfterValidator(_unique)] | None = None

    def to_spec(self, name: str) -> GroupSpec:
        members = None if self.members is None else tuple(sorted(self.members))
        return GroupSpec(name, self.description, self.mfaRequired, members)


class IPListSchema(_Schema):
    description: str = ""
    networks: Annotated[list[Cidr], Field(min_length=1)]

    def to_spec(self, name: str) -> IPListSpec:
        return IPListSpec(name, self.description, _networks(self.networks))


class MfaSchema(_Schema):
    required: bool = False
    maxAge: Duration | None = None
    methods: list[MfaMethod] = []


class RuleSchema(_Schema):
    name: Name
    id: RuleId | None = None
    description: str = ""
    owner: str = ""
    effect: Literal["allow", "deny", "step_up"] = "allow"
    users: list[Principal] = []
    groups: list[Principal] = []
    clients: list[Principal] = []
    methods: list[Method] = []
    paths: list[PathPrefix] = []
    sourceNetworks: list[Cidr] = []
    scopes: list[Scope] = []
    mfa: MfaSchema | None = None
    when: Any = None

    @model_validator(mode="after")
    def _mfa_fits_the_effect(self) -> RuleSchema:
        mfa = self.mfa
        wants = mfa is not None and (mfa.required or bool(mfa.maxAge) or bool(mfa.methods))
        if self.effect == "deny" and wants:
            raise ValueError("a deny rule cannot carry MFA conditions")
        if self.effect == "step_up" and not wants:
            raise ValueError("a step_up rule needs mfa (required, maxAge or methods)")
        return self

    def to_spec(self, when: Condition | None) -> RuleSpec:
        mfa = self.mfa or MfaSchema()
        return RuleSpec(
            name=self.name,
            effect=self.effect,
            users=tuple(sorted(set(self.users))),
            groups=tuple(sorted(set(self.groups))),
            methods=tuple(sorted(set(self.methods))),
            paths=tuple(sorted(set(self.paths))),
            source_networks=tuple(sorted(set(self.sourceNetworks))),
            mfa_required=mfa.required or mfa.maxAge is not None or bool(mfa.methods),
            mfa_max_age=mfa.maxAge,
            mfa_methods=tuple(sorted(set(mfa.methods))),
            clients=tuple(sorted(set(self.clients))),
            scopes=tuple(sorted(set(self.scopes))),
            when=when,
            rule_id=self.id,
            description=self.description,
            owner=self.owner,
        )


class ResourceSchema(_Schema):
    paths: Annotated[list[PathPrefix], Field(min_length=1)]
    sensitivity: Sensitivity
    tags: list[Tag] = []

    def to_spec(self) -> ResourceSpec:
        return ResourceSpec(
            tuple(sorted(set(self.paths))), self.sensitivity, tuple(sorted(set(self.tags)))
        )


class PolicySchema(_Schema):
    app: Name
    timeZone: str | None = None
    conditions: dict[str, Any] = {}
    ipLists: dict[str, Annotated[list[Cidr], Field(min_length=1)]] = {}
    resources: list[ResourceSchema] = []
    rules: list[RuleSchema] = []

    @model_validator(mode="after")
    def _unique_rule_names(self) -> PolicySchema:
        _unique([rule.name for rule in self.rules])
        _unique([rule.id for rule in self.rules if rule.id is not None])
        return self

    def to_spec(self, name: str) -> PolicySpec:
        zone = self.timeZone or DEFAULT_ZONE
        if self.timeZone is not None:
            _check_zone(self.timeZone)
        blocks: dict[str, Condition] = {}
        for block, body in self.conditions.items():
            _key_name(block, ("conditions", block))
            blocks[block] = parse_condition(body, ("conditions", block), zone, check_name)
        for listed in self.ipLists:
            _key_name(listed, ("ipLists", listed))
        rules = []
        for index, rule in enumerate(self.rules):
            when = None
            if rule.when is not None:
                loc = ("rules", index, "when")
                when = parse_condition(rule.when, loc, zone, check_name)
                _check_uses(when, blocks, loc)
            rules.append(rule.to_spec(when))
        _check_blocks(blocks)
        return PolicySpec(
            name,
            self.app,
            tuple(rules),
            conditions=tuple(sorted(blocks.items())),
            ip_lists=tuple(sorted((key, _networks(nets)) for key, nets in self.ipLists.items())),
            resources=tuple(resource.to_spec() for resource in self.resources),
            time_zone=self.timeZone,
        )


def _networks(networks: list[str]) -> tuple[str, ...]:
    found = {ipaddress.ip_network(text) for text in networks}
    ordered = sorted(found, key=lambda net: (net.version, int(net.network_address), net.prefixlen))
    return tuple(str(net) for net in ordered)


def _check_zone(zone: str) -> None:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):
        raise SpecProblem(
            ("timeZone",), f"unknown time zone {zone!r} (an IANA name like Asia/Taipei)"
        ) from None


def _key_name(name: str, loc: tuple[str | int, ...]) -> None:
    try:
        check_name(name)
    except ValueError as exc:
        raise SpecProblem(loc, str(exc)) from None


def _uses(condition: Condition) -> list[str]:
    if isinstance(condition, Use):
        return [condition.name]
    children: tuple[Condition, ...] = ()
    if isinstance(condition, AllOf | AnyOf):
        children = condition.items
    elif isinstance(condition, Not):
        children = (condition.item,)
    return [name for child in children for name in _uses(child)]


def _check_uses(
    condition: Condition, blocks: dict[str, Condition], loc: tuple[str | int, ...]
) -> None:
    for name in _uses(condition):
        if name not in blocks:
            known = ", ".join(sorted(blocks)) or "none defined"
            raise SpecProblem(loc, f"unknown named condition {name!r} (known: {known})")


def _check_blocks(blocks: dict[str, Condition]) -> None:
    """Every block's references exist, and no block uses itself, directly or not."""
    for name, block in blocks.items():
        _check_uses(block, blocks, ("conditions", name))
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = " → ".join([*path[path.index(name) :], name])
            raise SpecProblem(("conditions", path[0]), f"named conditions form a cycle: {cycle}")
        if name in done:
            return
        for used in _uses(blocks[name]):
            visit(used, [*path, name])
        done.add(name)

    for name in sorted(blocks):
        visit(name, [])


SCHEMAS: dict[
    str, type[AppSchema] | type[GroupSchema] | type[IPListSchema] | type[PolicySchema]
] = {
    "App": AppSchema,
    "Group": GroupSchema,
    "IPList": IPListSchema,
    "Policy": PolicySchema,
}


def spec_of(kind: str, name: str, body: Any) -> AppSpec | GroupSpec | IPListSpec | PolicySpec:
    """Validate one ``spec`` body; raises pydantic's ``ValidationError`` or ``SpecProblem``."""
    return SCHEMAS[kind].model_validate(body).to_spec(name)
