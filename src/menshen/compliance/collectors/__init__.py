"""Evidence collectors: one function per check of ``menshen.compliance.checks.CHECKS``.

``COLLECTORS`` maps every check id to the function that measures it; a test asserts it
covers ``CHECKS`` exactly. Each module groups one area (identity, accounts, devices,
network, applications, data, visibility and automation, machine identities and vendors).
"""

from __future__ import annotations

from collections.abc import Mapping

from menshen.compliance.collectors import (
    accounts,
    applications,
    data,
    devices,
    identity,
    lockout,
    machine,
    network,
    visibility,
)
from menshen.compliance.collectors.common import Collector

__all__ = ["COLLECTORS", "Collector"]

COLLECTORS: Mapping[str, Collector] = {
    **identity.COLLECTORS,
    **accounts.COLLECTORS,
    **lockout.COLLECTORS,
    **devices.COLLECTORS,
    **network.COLLECTORS,
    **applications.COLLECTORS,
    **data.COLLECTORS,
    **visibility.COLLECTORS,
    **machine.COLLECTORS,
}
