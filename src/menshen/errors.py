"""The exception hierarchy.

Exceptions are for bad input, bad configuration and broken invariants. A security
decision is never an exception: it is a value with reasons (see ``menshen.policy``).

    MenshenError
    ├── ConfigError          bad settings or a bad declarative file (carries file and line)
    ├── NotFound             a named object does not exist in this tenant
    ├── Conflict             the object exists already / a uniqueness rule would break
    ├── InvalidInput         a value given by a caller is malformed
    ├── AuthenticationFailed one uninformative error, whatever failed
    ├── StoreUnavailable     the store cannot be reached (callers deny)
    └── ProtocolError        malformed wire data; carries the HTTP status to answer with
"""

from __future__ import annotations


class MenshenError(Exception):
    """Root of every error menshen raises on purpose."""


class ConfigError(MenshenError):
    """Bad settings or a bad declarative file; names where, when it knows."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.message = message
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(f"{where}{message}")


class NotFound(MenshenError):
    """A named object does not exist in this tenant."""


class Conflict(MenshenError):
    """The object exists already, or a uniqueness rule would break."""


class InvalidInput(MenshenError):
    """A value given by a caller is malformed."""


class AuthenticationFailed(MenshenError):
    """Authentication failed. Deliberately says nothing about why."""

    def __init__(self) -> None:
        super().__init__("authentication failed")


class StoreUnavailable(MenshenError):
    """The store cannot be reached; every caller on a security path denies."""


class ProtocolError(MenshenError):
    """Malformed wire data; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)
