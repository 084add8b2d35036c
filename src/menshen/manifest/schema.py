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

from menshen.manifest.model import AppSpec, GroupSpec, PolicySpec, RuleSpec
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


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AppSchema(_Schema):
    hosts: Annotated[list[Host], Field(min_length=1), AfterValidator(_unique)]
    pathPrefix: PathPrefix = "/"
    upstream: Upstream
    title: str = ""
    public: Annotated[bool, AfterValidator(check_not_public)] = False
    preserveHost: bool = False
    maxBodyBytes: Annotated[int, Field(ge=1)] | None = None

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
        )


class GroupSchema(_Schema):
    description: str = ""
    mfaRequired: bool = False
    members: Annotated[list[Principal], AfterValidator(_unique)] | None = None

    def to_spec(self, name: str) -> GroupSpec:
        members = None if self.members is None else tuple(sorted(self.members))
        return GroupSpec(name, self.description, self.mfaRequired, members)


class MfaSchema(_Schema):
    required: bool = False
    maxAge: Duration | None = None


class RuleSchema(_Schema):
    name: Name
    effect: Literal["allow", "deny"] = "allow"
    users: list[Principal] = []
    groups: list[Principal] = []
    methods: list[Method] = []
    paths: list[PathPrefix] = []
    sourceNetworks: list[Cidr] = []
    mfa: MfaSchema | None = None

    @model_validator(mode="after")
    def _mfa_only_on_allow(self) -> RuleSchema:
        mfa = self.mfa
        if self.effect == "deny" and mfa is not None and (mfa.required or mfa.maxAge):
            raise ValueError("a deny rule cannot carry MFA conditions")
        return self

    def to_spec(self) -> RuleSpec:
        mfa = self.mfa or MfaSchema()
        return RuleSpec(
            name=self.name,
            effect=self.effect,
            users=tuple(sorted(set(self.users))),
            groups=tuple(sorted(set(self.groups))),
            methods=tuple(sorted(set(self.methods))),
            paths=tuple(sorted(set(self.paths))),
            source_networks=tuple(sorted(set(self.sourceNetworks))),
            mfa_required=mfa.required or mfa.maxAge is not None,
            mfa_max_age=mfa.maxAge,
        )


class PolicySchema(_Schema):
    app: Name
    rules: list[RuleSchema] = []

    @model_validator(mode="after")
    def _unique_rule_names(self) -> PolicySchema:
        _unique([rule.name for rule in self.rules])
        return self

    def to_spec(self, name: str) -> PolicySpec:
        return PolicySpec(name, self.app, tuple(rule.to_spec() for rule in self.rules))


SCHEMAS: dict[str, type[AppSchema] | type[GroupSchema] | type[PolicySchema]] = {
    "App": AppSchema,
    "Group": GroupSchema,
    "Policy": PolicySchema,
}


def spec_of(kind: str, name: str, body: Any) -> AppSpec | GroupSpec | PolicySpec:
    """Validate one ``spec`` body; raises pydantic's ``ValidationError``."""
    return SCHEMAS[kind].model_validate(body).to_spec(name)
