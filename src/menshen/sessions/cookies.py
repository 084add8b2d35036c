"""The session cookie: an opaque random token, never anything the server must trust.

RFC 6265bis §4.1.3.2: the ``__Host-`` prefix pins the cookie to the exact host (no
``Domain``, ``Path=/``, ``Secure``). Over plain HTTP (the demo on 127.0.0.1) the prefix is
not allowed, so the cookie is named ``menshen_session`` there.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

TOKEN_BYTES = 32
_TOKEN_LENGTH = 43  # unpadded base64url of 32 bytes
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

HTTPS_COOKIE = "__Host-menshen_session"
HTTP_COOKIE = "menshen_session"
SESSION_COOKIES = frozenset({HTTPS_COOKIE, HTTP_COOKIE})


def cookie_name(scheme: str) -> str:
    return HTTPS_COOKIE if scheme == "https" else HTTP_COOKIE


def new_token(random: Callable[[int], bytes]) -> str:
    return base64.urlsafe_b64encode(random(TOKEN_BYTES)).rstrip(b"=").decode("ascii")


def is_well_formed(token: str) -> bool:
    return len(token) == _TOKEN_LENGTH and _TOKEN_ALPHABET.issuperset(token)


def token_hash(token: str) -> str:
    """What the store keeps: a leaked table holds no usable cookie."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def read_cookie(cookie_headers: list[str], name: str) -> str | None:
    """The value of cookie ``name``; None when absent, duplicated or malformed.

    Two cookies of the same name (one planted by a sibling host, say) are refused rather
    than guessed between.
    """
    found: str | None = None
    for header in cookie_headers:
        for part in header.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                if found is not None:
                    return None
                found = value
    if found is None or not is_well_formed(found):
        return None
    return found


def set_cookie(name: str, value: str, *, secure: bool, max_age: int | None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


def clear_cookie(name: str, *, secure: bool) -> str:
    return set_cookie(name, "", secure=secure, max_age=0)
