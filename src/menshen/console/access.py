"""Who may open the console: a verified identity assertion, from an administrator with MFA.

The console sits behind menshen's own gateway (NIST SP 800-207 §3.2.1, the "device agent /
gateway" model: the resource is reached only through the PEP). The gateway's policy decides
who may open it; the console still checks the assertion itself and the decision's two
essentials — an administrators' group and a recent second factor (``mfa_time``, RFC 8176
``amr``) — so a policy mistake or a request that bypassed the gateway fails closed. The
answer is a value with a reason (``Admitted`` / ``Refused``), never an exception; the reason
is logged, the caller sees a generic page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class ConsoleAccess:
    """What the console requires of a caller beyond a valid assertion."""

    admin_groups: tuple[str, ...] = ("admins",)
    require_mfa: bool = True
    mfa_max_age: timedelta = timedelta(hours=12)

    def __post_init__(self) -> None:
        if not self.admin_groups:
            raise ValueError("the console needs at least one administrators' group")
        if self.mfa_max_age <= timedelta(0):
            raise ValueError("mfa_max_age must be positive")


@dataclass(frozen=True, slots=True)
class Admitted:
    subject: str
    username: str
    groups: tuple[str, ...]
    session_id: str = ""
    """The gateway session behind the assertion (``sid``): what the console's forms'
    CSRF tokens are bound to; empty if the assertion names none (forms then refuse)."""


@dataclass(frozen=True, slots=True)
class Refused:
    status: int
    """401: no valid assertion; 403: a valid one that does not qualify."""
    reason: str


def admit(
    claims: Mapping[str, Any] | None, rules: ConsoleAccess, now: datetime
) -> Admitted | Refused:
    """The decision for verified ``claims`` (None: absent or invalid assertion)."""
    if claims is None:
        return Refused(401, "no valid identity assertion")
    subject = claims.get("sub")
    username = claims.get("preferred_username")
    groups = claims.get("groups")
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        return Refused(403, "assertion carries no group list")
    if not set(groups) & set(rules.admin_groups):
        return Refused(403, f"not in an administrators' group ({', '.join(rules.admin_groups)})")
    if rules.require_mfa:
        mfa_time = claims.get("mfa_time")
        if isinstance(mfa_time, bool) or not isinstance(mfa_time, (int, float)):
            return Refused(403, "no second factor in this session")
        if not math.isfinite(mfa_time):
            return Refused(403, "mfa_time is not a number")
        age = now.timestamp() - float(mfa_time)
        if age > rules.mfa_max_age.total_seconds():
            return Refused(403, f"second factor is {int(age)} s old (limit {rules.mfa_max_age})")
    session = claims.get("sid")
    return Admitted(
        str(subject),
        str(username or subject),
        tuple(sorted(groups)),
        session if isinstance(session, str) else "",
    )
