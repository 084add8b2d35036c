"""Parse multi-document YAML into typed manifests, naming the file and line of any problem.

Each document is ``{apiVersion: menshen.dev/v1, kind, metadata: {name}, spec}`` in the
Kubernetes style that ``kubectl apply`` made familiar; the ``spec`` of each kind is
validated by ``menshen.manifest.schema``. Anything wrong raises one ``ConfigError`` with
``source`` and ``line``: a configuration that does not parse whole is not applied at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from menshen.errors import ConfigError
from menshen.manifest.checks import check_policy_apps, check_routes, check_unique
from menshen.manifest.model import API_VERSION, KINDS, Kind, Manifest, PolicySpec
from menshen.manifest.schema import check_name, spec_of
from menshen.manifest.when import Loc, SpecProblem
from menshen.manifest.yamltext import LineMapping, LineSequence, load_documents, located
from menshen.policy.duration import parse_duration
from menshen.policy.model import AppPolicy, DataLabel, Effect, ResourceLabel, Rule

_ENVELOPE = ("apiVersion", "kind", "metadata", "spec")
MAX_BYTES = 1024 * 1024
"""Largest file ``parse_manifests`` reads: a policy is a contract people review, not a dump."""


def parse_manifests(
    text: str, source: str, *, known_apps: Iterable[str] | None = ()
) -> list[Manifest]:
    """Every manifest of ``text`` (the contents of file ``source``), in file order.

    A Policy must name an App of the same text or one of ``known_apps``; pass
    ``known_apps=None`` to leave that check to ``apply_manifests``, which also looks at
    the apps already stored.
    """
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ConfigError(
            f"file is larger than {MAX_BYTES // 1024} KiB; split it into several files",
            source=source,
        )
    manifests = [
        _manifest(document, line, source) for line, document in load_documents(text, source)
    ]
    check_unique(manifests)
    check_routes(manifest for manifest in manifests if manifest.kind == "App")
    if known_apps is not None:
        check_policy_apps(manifests, known_apps)
    return manifests


def to_app_policy(manifest: Manifest | PolicySpec) -> AppPolicy:
    """The policy engine's view of a Policy; rule names become ``policy/rule``.

    Qualified names keep decisions unambiguous when several Policies govern one app.
    """
    spec = manifest.spec if isinstance(manifest, Manifest) else manifest
    if not isinstance(spec, PolicySpec):
        raise TypeError(f"not a Policy: {spec!r}")
    rules = tuple(
        Rule(
            name=f"{spec.name}/{rule.name}",
            effect=Effect(rule.effect),
            users=frozenset(rule.users),
            groups=frozenset(rule.groups),
            methods=frozenset(rule.methods),
            path_prefixes=rule.paths,
            source_networks=tuple(ipaddress.ip_network(net) for net in rule.source_networks),
            mfa_required=rule.mfa_required,
            mfa_max_age=_max_age(rule.mfa_max_age),
            mfa_methods=frozenset(rule.mfa_methods),
            clients=frozenset(rule.clients),
            scopes=frozenset(rule.scopes),
            when=rule.when,
            rule_id=rule.rule_id,
            description=rule.description,
            owner=rule.owner,
        )
        for rule in spec.rules
    )
    return AppPolicy(
        spec.app,
        rules,
        conditions=dict(spec.conditions),
        ip_lists={
            name: tuple(ipaddress.ip_network(net) for net in networks)
            for name, networks in spec.ip_lists
        },
        resources=tuple(
            ResourceLabel(resource.paths, DataLabel(resource.sensitivity, frozenset(resource.tags)))
            for resource in spec.resources
        ),
        name=spec.name,
    )


def _max_age(text: str | None) -> timedelta | None:
    return None if text is None else parse_duration(text)


def _manifest(document: Any, line: int, source: str) -> Manifest:
    if not isinstance(document, LineMapping):
        raise ConfigError(
            "a document must be a mapping with apiVersion, kind, metadata and spec",
            source=source,
            line=line,
        )
    for key in document:
        if key not in _ENVELOPE:
            raise ConfigError(
                f"unknown field {key!r} (expected apiVersion, kind, metadata, spec)",
                source=source,
                line=document.key_lines[key],
            )
    for key in _ENVELOPE:
        if key not in document:
            raise ConfigError(f"missing {key!r}", source=source, line=line)
    if document["apiVersion"] != API_VERSION:
        raise ConfigError(
            f"apiVersion must be {API_VERSION!r}, not {document['apiVersion']!r}",
            source=source,
            line=document.key_lines["apiVersion"],
        )
    kind = document["kind"]
    if kind not in KINDS:
        raise ConfigError(
            f"unknown kind {kind!r} (expected App, Group, IPList or Policy)",
            source=source,
            line=document.key_lines["kind"],
        )
    name = _name(document, source)
    body = document["spec"]
    if body is None:
        body = LineMapping()
        body.line, body.key_lines, body.key_columns = document.key_lines["spec"], {}, {}
    try:
        spec = spec_of(kind, name, body)
    except ValidationError as exc:
        raise _config_error(exc, kind, name, document, source) from None
    except SpecProblem as exc:
        line_at, column = locate(document, exc.loc)
        where = ".".join(str(part) for part in ("spec", *exc.loc))
        message = f"{kind} {name!r}: {where}: {exc.message}"
        raise located(message, source, line_at, column) from None
    return Manifest(kind=_kind(kind), name=name, spec=spec, source=source, line=line)


def _kind(value: str) -> Kind:
    for kind in KINDS:
        if kind == value:
            return kind
    raise ValueError(value)


def _name(document: LineMapping, source: str) -> str:
    metadata = document["metadata"]
    line = document.key_lines["metadata"]
    if not isinstance(metadata, LineMapping) or set(metadata) != {"name"}:
        raise ConfigError(
            "metadata must be a mapping with exactly one field: name", source=source, line=line
        )
    name = metadata["name"]
    if not isinstance(name, str):
        raise ConfigError(
            f"metadata.name must be a string, not {name!r}",
            source=source,
            line=metadata.key_lines["name"],
        )
    try:
        return check_name(name)
    except ValueError as exc:
        raise ConfigError(str(exc), source=source, line=metadata.key_lines["name"]) from None


def _config_error(
    exc: ValidationError, kind: str, name: str, document: LineMapping, source: str
) -> ConfigError:
    """The first problem of ``exc`` as a ConfigError at the line of the offending field."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = first["loc"]
    line, column = locate(document, tuple(loc))
    where = ".".join(str(part) for part in ("spec", *loc))
    message = _message(first)
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return located(f"{kind} {name!r}: {where}: {message}{more}", source, line, column)


def locate(document: LineMapping, loc: Loc) -> tuple[int, int]:
    """Line and column of the deepest node of ``spec`` that ``loc`` reaches."""
    node: Any = document["spec"]
    line = document.key_lines["spec"]
    column = document.key_columns["spec"]
    for part in loc:
        if isinstance(node, LineMapping) and isinstance(part, str) and part in node:
            line, column, node = node.key_lines[part], node.key_columns[part], node[part]
        elif isinstance(node, LineSequence) and isinstance(part, int) and part < len(node):
            line, column, node = node.item_lines[part], node.item_columns[part], node[part]
        else:
            break
    return line, column


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
