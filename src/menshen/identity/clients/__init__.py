"""Machine identities: OAuth2 clients (RFC 6749 §4.4 client credentials) and API keys.

``secrets`` (credential formats and keyed hashing), ``model`` (the in-memory roster the
gateway checks every request against), ``service`` (create, rotate, suspend; the token
endpoint's secret check).
"""

from menshen.identity.clients.model import (
    API_KEY,
    SECRET,
    Accepted,
    ClientRoster,
    LiveClient,
    Refused,
)
from menshen.identity.clients.secrets import SecretHasher
from menshen.identity.clients.service import (
    IssuedCredential,
    MachineClientService,
    load_roster,
)

__all__ = [
    "API_KEY",
    "SECRET",
    "Accepted",
    "ClientRoster",
    "IssuedCredential",
    "LiveClient",
    "MachineClientService",
    "Refused",
    "SecretHasher",
    "load_roster",
]
