"""The canonical JSON report and its signature: deterministic, verifiable with the tenant's
key set, and refused after any change."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import pytest

from menshen.assertions.keyring import Keyring
from menshen.compliance.model import Lang
from menshen.compliance.report.canonical import canonical_bytes, content_hash, document_json
from menshen.compliance.report.html import render_html
from menshen.compliance.report.sign import (
    detached_envelope,
    envelope,
    sign_hash,
    verify_bytes,
)
from menshen.crypto import SecretBox
from menshen.errors import InvalidInput
from menshen.testing import FixedClock

from .conftest import AT, MemoryTenantKeys, make_document


def _signed_json(keyring: Keyring) -> bytes:
    content = document_json(make_document(Lang.EN))
    signature = sign_hash("formosa-pay", content_hash(content), keyring.active_signing_key())
    return canonical_bytes(envelope(content, signature))


def test_canonical_json_is_deterministic_and_sorted() -> None:
    """Two builds of the same assessment give the same bytes, keys sorted, UTF-8 kept."""
    first = canonical_bytes(document_json(make_document(Lang.ZH_TW)))
    second = canonical_bytes(document_json(make_document(Lang.ZH_TW)))
    assert first == second
    decoded = json.loads(first)
    assert list(decoded) == sorted(decoded)
    assert "零信任測試指引".encode() in first
    assert canonical_bytes(decoded) == first
    assert b"\n" not in first


def test_canonical_json_refuses_values_json_cannot_carry() -> None:
    """NaN and naive times are bad input, never silently written."""
    with pytest.raises(InvalidInput):
        canonical_bytes({"value": float("nan")})
    from menshen.compliance.report.canonical import to_json

    with pytest.raises(InvalidInput):
        to_json(datetime(2026, 1, 1))


def test_json_content_carries_controls_evidence_and_no_regulator_score() -> None:
    """The JSON holds every control, each evidence with its data, and says it is no score."""
    content: Any = json.loads(canonical_bytes(document_json(make_document(Lang.EN))))
    assert [c["id"] for c in content["controls"]] == [
        "ZT-ID-1",
        "ZT-ID-2",
        "ZT-DV-1",
        "ZT-DV-2",
        "ZT-CARD-1",
    ]
    evidence = {e["check_id"]: e for e in content["evidence"]}
    assert len(evidence["identity.mfa_enrolled"]["data"]["users"]) == 40
    assert content["not_a_regulator_score"] is True
    assert content["declared"] == ["ZT-DV-1"]


def test_signed_json_verifies_with_the_tenant_key_set(keyring: Keyring) -> None:
    """The envelope checks out against the published JWKS and names tenant, hash, key."""
    data = _signed_json(keyring)
    verified = verify_bytes(data, keyring.jwks())
    assert verified.tenant_id == "formosa-pay"
    assert verified.key_id == keyring.active_signing_key().kid
    assert verified.content_sha256 == json.loads(data)["content_sha256"]


def test_one_changed_byte_in_the_json_content_fails_verification(keyring: Keyring) -> None:
    """Changing one character of the content breaks the check."""
    data = _signed_json(keyring)
    tampered = data.replace(b'"firm":"Formosa Pay"', b'"firm":"Formosa Paz"', 1)
    assert tampered != data
    with pytest.raises(InvalidInput, match="does not match its signature"):
        verify_bytes(tampered, keyring.jwks())


def test_a_hash_swapped_along_with_the_content_still_fails(keyring: Keyring) -> None:
    """Rewriting the envelope's hash to match altered content does not help: the JWS
    signs the hash."""
    doc = json.loads(_signed_json(keyring))
    doc["content"]["firm"] = "Other Firm"
    doc["content_sha256"] = content_hash(doc["content"])
    with pytest.raises(InvalidInput):
        verify_bytes(canonical_bytes(doc), keyring.jwks())


def test_another_tenants_key_does_not_verify(keyring: Keyring) -> None:
    """A key set without the signing key refuses the report (fail closed)."""
    other = Keyring(MemoryTenantKeys(), SecretBox(bytes(32)), FixedClock(AT))
    other.ensure_key()
    with pytest.raises(InvalidInput, match="not in the tenant's published key set"):
        verify_bytes(_signed_json(keyring), other.jwks())
    forged = json.loads(_signed_json(keyring))
    forged["key_id"] = other.active_signing_key().kid
    with pytest.raises(InvalidInput):
        verify_bytes(canonical_bytes(forged), other.jwks())


def test_detached_signature_catches_a_one_byte_change_in_html(keyring: Keyring) -> None:
    """An HTML report with its .sig verifies; one changed byte of the HTML fails."""
    doc = make_document(Lang.EN)
    key = keyring.active_signing_key()
    digest = content_hash(document_json(doc))
    body = render_html(doc, sign_hash(doc.tenant_id, digest, key)).encode()
    file_sha256 = hashlib.sha256(body).hexdigest()
    sig = detached_envelope(
        "html", sign_hash(doc.tenant_id, digest, key, file_sha256=file_sha256), file_sha256
    )
    verified = verify_bytes(body, keyring.jwks(), detached=sig)
    assert verified.file_sha256 == file_sha256
    assert verified.content_sha256 == digest
    changed = body.replace(b"Formosa Pay", b"Formosa Pax", 1)
    with pytest.raises(InvalidInput, match="changed after signing"):
        verify_bytes(changed, keyring.jwks(), detached=sig)


def test_garbage_is_refused_with_a_clear_error(keyring: Keyring) -> None:
    """Non-JSON, or JSON without a signature, is InvalidInput."""
    with pytest.raises(InvalidInput, match="not JSON"):
        verify_bytes(b"%PDF-1.7 not json", keyring.jwks())
    with pytest.raises(InvalidInput, match="no content"):
        verify_bytes(b'{"a": 1}', keyring.jwks())
