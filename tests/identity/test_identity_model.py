"""Validation rules for usernames, e-mail addresses, display names and passwords."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menshen.errors import InvalidInput
from menshen.identity.model import (
    LoginOk,
    validate_display_name,
    validate_email,
    validate_name,
    validate_password,
)
from menshen.store.records import UserRecord

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_T = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize("name", ["a", "alice", "alice.chen", "a_b-c.d", "0day", "x" * 64])
def test_valid_names(name: str) -> None:
    """Names of 1-64 allowed characters, starting with a letter or digit, pass unchanged."""
    assert validate_name(name) == name


@given(st.text(max_size=80))
def test_validate_name_returns_a_conforming_name_or_raises_invalid_input(text: str) -> None:
    """Whatever the input, the result matches the pattern, or InvalidInput is raised."""
    try:
        name = validate_name(text)
    except InvalidInput:
        return
    assert NAME.fullmatch(name)


@pytest.mark.parametrize(
    "email", ["alice@example.com", "a.b+c@sub.example.co.uk", "台北@例子.台灣"]
)
def test_valid_emails(email: str) -> None:
    """Ordinary and internationalised addresses pass."""
    assert validate_email(email) == email


@given(st.text(max_size=300))
def test_validate_email_accepts_only_one_at_and_a_dotted_domain(text: str) -> None:
    """Every accepted address has exactly one '@' and a dot inside its domain."""
    try:
        email = validate_email(text)
    except InvalidInput:
        return
    local, _, domain = email.partition("@")
    assert email.count("@") == 1
    assert local
    assert "." in domain.strip(".")
    assert not any(ch.isspace() for ch in email)


def test_an_overlong_email_is_refused() -> None:
    """Addresses over 254 characters cannot be delivered (RFC 5321)."""
    with pytest.raises(InvalidInput):
        validate_email("a" * 250 + "@example.com")


def test_display_name_limits() -> None:
    """Over 200 characters or a format character (like RTL override) is refused."""
    with pytest.raises(InvalidInput):
        validate_display_name("x" * 201, "fallback")
    with pytest.raises(InvalidInput):
        validate_display_name("Alice\u202eevil", "fallback")
    assert validate_display_name("陳小明", "fallback") == "陳小明"


def test_password_length_counts_characters_not_bytes() -> None:
    """Twelve CJK characters are a valid password though they are 36 bytes."""
    assert validate_password("密碼密碼密碼密碼密碼密碼") == "密碼密碼密碼密碼密碼密碼"
    with pytest.raises(InvalidInput):
        validate_password("密碼密碼密碼密碼密碼密")


def test_needs_second_factor_when_required_or_enrolled() -> None:
    """Policy requirement or an enrolled factor each demand the second step."""
    user = UserRecord("t1", "u1", "alice", "a@example.com", "A", None, False, _T, _T)
    assert not LoginOk(user, mfa_required=False, mfa_enrolled=False).needs_second_factor
    assert LoginOk(user, mfa_required=True, mfa_enrolled=False).needs_second_factor
    assert LoginOk(user, mfa_required=False, mfa_enrolled=True).needs_second_factor
