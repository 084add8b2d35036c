"""The identity assertion the gateway sends upstream: an ES256 JWT in ``X-Menshen-Assertion``.

``jwk`` (JWK encoding, RFC 7638 thumbprints), ``keyring`` (signing keys kept sealed in the
store, rotation, JWKS), ``mint`` (signing with a per-session cache) and ``verify`` (what an
upstream does with the header).
"""

from menshen.assertions.keyring import Keyring, SigningKey
from menshen.assertions.mint import AssertionMinter
from menshen.assertions.verify import AssertionVerifier

ASSERTION_HEADER = "x-menshen-assertion"
JWKS_PATH = "/.well-known/menshen/jwks.json"

__all__ = [
    "ASSERTION_HEADER",
    "JWKS_PATH",
    "AssertionMinter",
    "AssertionVerifier",
    "Keyring",
    "SigningKey",
]
