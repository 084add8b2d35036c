"""Values the identity service returns, and the rules for names, e-mail and passwords.

Password rules follow NIST SP 800-63B §5.1.1.2: at least 12 characters here (the
standard's floor is 8), no composition rules, any Unicode, a generous upper bound only to
keep hashing cheap for the server.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from menshen.errors import InvalidInput
from menshen.store.records import UserRecord

__all__ = [
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "LoginFailed",
    "LoginOk",
    "LoginResult",
    "TotpEnrolment",
    "normalise_username",
    "validate_display_name",
    "validate_email",
    "validate_name",
    "validate_password",
]

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}", flags=re.ASCII)
_MAX_EMAIL = 254  # RFC 5321 §4.5.3.1.3 path limit, less the angle brackets
_MAX_DISPLAY_NAME = 200


@dataclass(frozen=True, slots=True)
class LoginOk:
    """The password was right. ``mfa_required`` comes from the user's groups."""

    user: UserRecord
    mfa_required: bool
    mfa_enrolled: bool

    @property
    def needs_second_factor(self) -> bool:
        """Ask for a second factor when policy requires one or the user has set one up."""
        return self.mfa_required or self.mfa_enrolled


@dataclass(frozen=True, slots=True)
class LoginFailed:
    """The login failed. Show the user one message whatever the reason.

    ``reason_for_audit`` is one of ``ip_blocked``, ``account_locked``, ``unknown_user``,
    ``no_password``, ``bad_password``, ``user_disabled``; it is for the audit log only.
    ``locked_until`` is set when this attempt found or caused a lock; telling the user
    about it would reveal that the account exists, so keep it for the log too.
    """

    reason_for_audit: str
    locked_until: datetime | None = None


LoginResult = LoginOk | LoginFailed


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What the enrolment page shows once: the secret for manual entry, its URI and QR code."""

    secret: str = field(repr=False)
    uri: str = field(repr=False)
    qr_svg: str = field(repr=False)


def normalise_username(username: str) -> str:
    """Usernames compare case-insensitively; surrounding blanks are typing noise."""
    return username.strip().lower()


def validate_name(name: str, what: str = "username") -> str:
    """The normalised name if it matches ``^[a-z0-9][a-z0-9._-]{0,63}$``, else InvalidInput."""
    normal = normalise_username(name)
    if _NAME.fullmatch(normal) is None:
        raise InvalidInput(f"{what} must be 1-64 of a-z 0-9 . _ - and start with a letter or digit")
    return normal


def validate_email(email: str) -> str:
    """A plausible address: one '@', a non-empty local part, a dotted domain, no blanks."""
    text = email.strip()
    local, at, domain = text.partition("@")
    ok = (
        at == "@"
        and text.count("@") == 1
        and local != ""
        and "." in domain
        and not domain.startswith(".")
        and not domain.endswith(".")
        and ".." not in domain
        and len(text) <= _MAX_EMAIL
        and not any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in text)
    )
    if not ok:
        raise InvalidInput("email address is malformed")
    return text


def validate_display_name(display_name: str, fallback: str) -> str:
    """The trimmed display name (``fallback`` when blank); no control characters."""
    text = display_name.strip()
    if len(text) > _MAX_DISPLAY_NAME:
        raise InvalidInput(f"display name is longer than {_MAX_DISPLAY_NAME} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise InvalidInput("display name contains control characters")
    return text or fallback


def validate_password(password: str) -> str:
    """The password unchanged if its length (after NFKC) is within bounds, else InvalidInput."""
    length = len(unicodedata.normalize("NFKC", password))
    if length < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    if length > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"password must have at most {MAX_PASSWORD_CHARS} characters")
    return password
