"""Signing a report's content hash with the tenant's key, and checking it (RFC 7515 JWS).

The tenant's active ES256 key (RFC 7518 §3.4, the same keyring that signs identity
assertions; its ``kid`` is the RFC 7638 thumbprint) signs a compact JWS whose payload names
the content hash (SHA-256 of the canonical JSON), the tenant and what was hashed. Anyone with
the tenant's published key set (RFC 7517 JWKS) can check it.

- The JSON report is an **envelope**: ``content`` (the canonical report), ``content_sha256``,
  ``signature`` (the JWS) and ``key_id``.
- The HTML and PDF print the content hash, signature and key id, and get a detached
  ``FILE.sig`` envelope whose JWS signs the SHA-256 of the file's own bytes as well, so a
  one-byte change to the rendered file is caught too.

Every failure to verify is one ``InvalidInput`` with a plain reason; nothing is trusted from
the file itself (the key comes from the tenant's key set, never from the document).

Reports outlive key rotation: ``report_key_set`` builds the set from every key the tenant's
store holds — the active key, retired keys not yet pruned, and retired keys kept (public half
only) because a recorded report names them (``menshen.store.keys``). A report whose key id
the store never recorded fails.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from menshen.assertions.keyring import SigningKey
from menshen.compliance.model import JsonValue
from menshen.compliance.report.canonical import FORMAT, canonical_bytes, content_hash
from menshen.errors import InvalidInput
from menshen.store.records import SigningKeyRecord

__all__ = [
    "DETACHED",
    "Signature",
    "Verified",
    "detached_envelope",
    "envelope",
    "report_key_set",
    "sign_hash",
    "verify_bytes",
]

DETACHED = "menshen-compliance-report-signature/v1"
_ALG = "ES256"
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "kid", "use", "alg")
_RETIRED = "retired_at"
"""Not a JWK member: set by ``report_key_set`` on a retired key, read back into ``Verified``."""


@dataclass(frozen=True, slots=True)
class Signature:
    """A content hash signed by one of the tenant's keys."""

    content_sha256: str
    jws: str
    key_id: str


@dataclass(frozen=True, slots=True)
class Verified:
    """What a successful check proved."""

    tenant_id: str
    content_sha256: str
    key_id: str
    file_sha256: str | None = None
    key_retired_at: str | None = None
    """When the signing key was retired (ISO 8601); None while it is the active key."""


def report_key_set(keys: Iterable[SigningKeyRecord]) -> dict[str, Any]:
    """The key set reports are checked against: the public half of every stored key, a
    retired one marked with when it was retired."""
    entries: list[dict[str, Any]] = []
    for key in keys:
        entry = {name: key.public_jwk[name] for name in _PUBLIC_MEMBERS if name in key.public_jwk}
        if entry.get("kid") != key.kid:
            continue  # a row whose JWK names another key proves nothing
        if key.retired_at is not None:
            entry[_RETIRED] = key.retired_at.isoformat()
        entries.append(entry)
    return {"keys": entries}


def sign_hash(
    tenant_id: str, content_sha256: str, key: SigningKey, *, file_sha256: str | None = None
) -> Signature:
    """Sign ``content_sha256`` (and a rendered file's hash, when given) with ``key``."""
    payload: dict[str, JsonValue] = {
        "typ": FORMAT,
        "tenant": tenant_id,
        "content_sha256": content_sha256,
    }
    if file_sha256 is not None:
        payload["file_sha256"] = file_sha256
    token = jwt.api_jws.encode(
        canonical_bytes(payload), key.private_key, algorithm=_ALG, headers={"kid": key.kid}
    )
    return Signature(content_sha256=content_sha256, jws=token, key_id=key.kid)


def envelope(content: dict[str, JsonValue], signature: Signature) -> dict[str, JsonValue]:
    """The signed JSON report: the content with its hash, signature and key id."""
    if content_hash(content) != signature.content_sha256:
        raise InvalidInput("the signature is not over this content")
    return {
        "content": content,
        "content_sha256": signature.content_sha256,
        "signature": signature.jws,
        "key_id": signature.key_id,
        "alg": _ALG,
    }


def detached_envelope(file_name: str, file_signature: Signature, file_sha256: str) -> bytes:
    """The ``FILE.sig`` written beside an HTML or PDF report."""
    body: dict[str, JsonValue] = {
        "format": DETACHED,
        "file": file_name,
        "file_sha256": file_sha256,
        "content_sha256": file_signature.content_sha256,
        "signature": file_signature.jws,
        "key_id": file_signature.key_id,
        "alg": _ALG,
    }
    return canonical_bytes(body) + b"\n"


def verify_bytes(
    data: bytes, jwks: Mapping[str, Any], *, detached: bytes | None = None
) -> Verified:
    """Check a report file: a JSON envelope, or an HTML/PDF with its detached ``.sig``."""
    if detached is None:
        return _verify_envelope(_load(data, "report"), jwks)
    sig = _load(detached, "signature file")
    if sig.get("format") != DETACHED:
        raise InvalidInput("the signature file is not a menshen report signature")
    file_sha256 = hashlib.sha256(data).hexdigest()
    claims = _check_jws(sig.get("signature"), sig.get("key_id"), jwks)
    expected = claims.get("file_sha256")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, file_sha256):
        raise InvalidInput("the file does not match its signature (changed after signing)")
    return Verified(
        tenant_id=str(claims.get("tenant")),
        content_sha256=str(claims.get("content_sha256")),
        key_id=str(sig.get("key_id")),
        file_sha256=file_sha256,
        key_retired_at=_retired_at(jwks, sig.get("key_id")),
    )


def _verify_envelope(doc: Mapping[str, Any], jwks: Mapping[str, Any]) -> Verified:
    content = doc.get("content")
    if not isinstance(content, dict):
        raise InvalidInput("not a signed menshen report (no content)")
    actual = content_hash(content)
    claims = _check_jws(doc.get("signature"), doc.get("key_id"), jwks)
    signed = claims.get("content_sha256")
    if not isinstance(signed, str) or not hmac.compare_digest(signed, actual):
        raise InvalidInput(
            "the report content does not match its signature (changed after signing)"
        )
    if content.get("tenant") != claims.get("tenant"):
        raise InvalidInput("the report names another tenant than its signature")
    return Verified(
        tenant_id=str(claims["tenant"]),
        content_sha256=actual,
        key_id=str(doc["key_id"]),
        key_retired_at=_retired_at(jwks, doc["key_id"]),
    )


def _check_jws(token: object, key_id: object, jwks: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(token, str) or not isinstance(key_id, str):
        raise InvalidInput("the report carries no signature or key id")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise InvalidInput("the signature is malformed") from None
    if header.get("alg") != _ALG or header.get("kid") != key_id:
        raise InvalidInput("the signature's algorithm or key id is not the one the report names")
    jwk = _find(jwks, key_id)
    if jwk is None:
        raise InvalidInput(f"key {key_id} is not in the tenant's published key set")
    try:
        members = {name: jwk[name] for name in _PUBLIC_MEMBERS if name in jwk}
        public = jwt.PyJWK(members, algorithm=_ALG).key
        payload = jwt.api_jws.decode(token, public, algorithms=[_ALG])
        claims = json.loads(payload)
    except (jwt.InvalidTokenError, jwt.PyJWKError, ValueError):
        raise InvalidInput("the signature does not verify with the tenant's key") from None
    if not isinstance(claims, dict) or claims.get("typ") != FORMAT:
        raise InvalidInput("the signature is not over a menshen report")
    return claims


def _find(jwks: Mapping[str, Any], key_id: object) -> Mapping[str, Any] | None:
    keys = jwks.get("keys", ())
    return next((k for k in keys if isinstance(k, Mapping) and k.get("kid") == key_id), None)


def _retired_at(jwks: Mapping[str, Any], key_id: object) -> str | None:
    jwk = _find(jwks, key_id)
    retired = None if jwk is None else jwk.get(_RETIRED)
    return retired if isinstance(retired, str) else None


def _load(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput(f"the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"the {what} is not a JSON object")
    return value
