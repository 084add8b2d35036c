"""A software authenticator that makes real WebAuthn responses (W3C WebAuthn Level 2 §6).

Each ``SoftPasskey`` is one credential: an EC P-256 key (COSE alg -7, ES256), a credential
id, an AAGUID and a signature counter. ``create`` answers registration options with a
"none" or "packed" self attestation (§8.2, §8.7); ``get`` answers authentication options
with an assertion signed over authenticatorData || SHA-256(clientDataJSON) (§6.3.3).
Knobs let a test lie about the origin or RP ID, drop user verification, or roll the
counter back, which is how the attacks are staged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn import verify_authentication_response, verify_registration_response

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40

RP_ID = "login.example.test"
ORIGIN = "https://login.example.test"
AAGUID = bytes.fromhex("fbfc3007154e4ecc8c0b6e020557d7bd")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftPasskey:
    """One discoverable credential held by a software authenticator."""

    credential_id: bytes
    aaguid: bytes = AAGUID
    counter: int = 0
    counter_step: int = 1
    user_handle: bytes | None = None
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def clone(self) -> SoftPasskey:
        """Another authenticator holding the same key and counter (a cloned device)."""
        return SoftPasskey(
            credential_id=self.credential_id,
            aaguid=self.aaguid,
            counter=self.counter,
            counter_step=self.counter_step,
            user_handle=self.user_handle,
            key=self.key,
        )

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def create(
        self,
        options_json: str,
        *,
        origin: str = ORIGIN,
        rp_id: str | None = None,
        fmt: str = "none",
        user_verified: bool = True,
    ) -> dict[str, Any]:
        """The ``PublicKeyCredential`` JSON that ``navigator.credentials.create()`` returns."""
        options = json.loads(options_json)
        self.user_handle = unb64url(options["user"]["id"])
        client_data = _client_data("webauthn.create", options["challenge"], origin)
        attested = (
            self.aaguid
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self.cose_key()
        )
        flags = FLAG_UP | FLAG_AT | FLAG_BE | FLAG_BS | (FLAG_UV if user_verified else 0)
        auth_data = self._auth_data(rp_id or options["rp"]["id"], flags) + attested
        statement: dict[str, Any] = {}
        if fmt == "packed":
            signed = auth_data + hashlib.sha256(client_data).digest()
            statement = {"alg": -7, "sig": self.key.sign(signed, ec.ECDSA(hashes.SHA256()))}
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
        }

    def get(
        self,
        options_json: str,
        *,
        origin: str = ORIGIN,
        rp_id: str | None = None,
        user_verified: bool = True,
        user_handle: bytes | None = None,
        send_user_handle: bool = True,
    ) -> dict[str, Any]:
        """The ``PublicKeyCredential`` JSON that ``navigator.credentials.get()`` returns."""
        options = json.loads(options_json)
        client_data = _client_data("webauthn.get", options["challenge"], origin)
        self.counter += self.counter_step
        flags = FLAG_UP | FLAG_BE | FLAG_BS | (FLAG_UV if user_verified else 0)
        auth_data = self._auth_data(rp_id or options["rpId"], flags)
        signed = auth_data + hashlib.sha256(client_data).digest()
        response: dict[str, Any] = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(self.key.sign(signed, ec.ECDSA(hashes.SHA256()))),
        }
        handle = user_handle if user_handle is not None else self.user_handle
        if send_user_handle and handle is not None:
            response["userHandle"] = b64url(handle)
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": response,
        }

    def _auth_data(self, rp_id: str, flags: int) -> bytes:
        rp_hash = hashlib.sha256(rp_id.encode("utf-8")).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.counter)


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    body = {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _options(challenge: bytes) -> str:
    return json.dumps(
        {
            "challenge": b64url(challenge),
            "rp": {"id": RP_ID, "name": "Example"},
            "rpId": RP_ID,
            "user": {"id": b64url(b"u1"), "name": "alice", "displayName": "Alice"},
        }
    )


def test_soft_authenticator_registration_verifies_with_py_webauthn() -> None:
    """The library itself accepts the software authenticator's packed self attestation."""
    passkey = SoftPasskey(credential_id=b"\x01" * 16)
    verified = verify_registration_response(
        credential=passkey.create(_options(b"c" * 32), fmt="packed"),
        expected_challenge=b"c" * 32,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        require_user_verification=True,
    )
    assert verified.credential_id == b"\x01" * 16
    assert verified.aaguid == "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"
    assert verified.fmt == "packed"


def test_soft_authenticator_assertion_verifies_with_py_webauthn() -> None:
    """The library itself accepts the software authenticator's assertion signature."""
    passkey = SoftPasskey(credential_id=b"\x02" * 16)
    passkey.create(_options(b"r" * 32))
    verified = verify_authentication_response(
        credential=passkey.get(_options(b"a" * 32)),
        expected_challenge=b"a" * 32,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=passkey.cose_key(),
        credential_current_sign_count=0,
        require_user_verification=True,
    )
    assert verified.new_sign_count == 1
    assert verified.user_verified is True
